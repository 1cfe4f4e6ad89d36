package redpack

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
)

// maxResponseBytes caps how much of an answer is read. A gethbinfo answer for
// a large group packet is a few KiB per hundred receivers; anything near the
// cap is hostile.
const maxResponseBytes = 1 << 20

// encodeXML appends the request body for p (sorted by name) and its sign to
// dst: a flat <xml> document, one CDATA element per non-empty field, sign last.
func encodeXML(dst []byte, p params, sign string) []byte {
	dst = append(dst, "<xml>"...)
	for _, kv := range p {
		if kv.v == "" {
			continue
		}
		dst = appendElement(dst, kv.k, kv.v)
	}
	if sign != "" {
		dst = appendElement(dst, "sign", sign)
	}
	return append(dst, "</xml>"...)
}

// encodedLen is the exact size of encodeXML's output when no value contains
// "]]>" (each of those adds 12 bytes, and append grows the buffer then).
func encodedLen(p params, sign string) int {
	n := len("<xml></xml>")
	for _, kv := range p {
		if kv.v != "" {
			n += 2*len(kv.k) + len(kv.v) + len("<><![CDATA[]]></>")
		}
	}
	if sign != "" {
		n += 2*len("sign") + len(sign) + len("<><![CDATA[]]></>")
	}
	return n
}

// appendElement writes <k><![CDATA[v]]></k>. A "]]>" inside v would end the
// section early, so it is split across two sections: "]]" ends the first,
// ">" starts the next. Names are package constants, never user input.
func appendElement(dst []byte, k, v string) []byte {
	dst = append(dst, '<')
	dst = append(dst, k...)
	dst = append(dst, "><![CDATA["...)
	for {
		i := strings.Index(v, "]]>")
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+2]...)
		dst = append(dst, "]]><![CDATA["...)
		v = v[i+2:]
	}
	dst = append(dst, v...)
	dst = append(dst, "]]></"...)
	dst = append(dst, k...)
	return append(dst, '>')
}

// response is a decoded answer: the flat fields of <xml> and, for gethbinfo,
// the <hblist><hbinfo> entries.
type response struct {
	fields params // in document order
	hbinfo []params
}

func (r *response) get(k string) string { return r.fields.get(k) }

// intField parses an integer field leniently: absent or empty is 0, and
// surrounding white space is ignored. ok is false only when a non-empty
// value is not an integer.
func intField(s string) (n int64, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Bounds on an answer, against hostile or broken servers. Real answers have
// about 20 fields, nest two levels (hblist/hbinfo) and list one hbinfo per
// claim of a packet.
const (
	maxFields       = 64   // flat fields of <xml>
	maxHBInfo       = 1000 // hbinfo entries of one hblist
	maxHBInfoFields = 16   // fields of one hbinfo
	maxDepth        = 8    // element nesting, the root included
	maxSendElements = 256  // every element of a send answer, skipped ones too
)

var errNotXML = errors.New("not a WeChat Pay XML answer")

// decodeXML decodes a WeChat Pay answer with encoding/xml: a root <xml>
// whose children are fields holding text (plain, escaped or CDATA).
// withHBList reads <hblist><hbinfo> (gethbinfo answers only); other nested
// elements, attributes, comments and text directly under the root are
// ignored. A field given twice, a root other than <xml>, malformed XML, a
// charset other than UTF-8 or a body beyond the bounds above is an error.
// It never panics.
func decodeXML(body []byte, withHBList bool) (*response, error) {
	if len(body) > maxResponseBytes {
		return nil, errors.New("answer larger than 1 MiB")
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, errors.New("unsupported charset " + strconv.Quote(label))
	}
	dec := decoder{d: d, budget: maxSendElements}
	if withHBList {
		dec.budget = 1 + maxFields + maxHBInfo*(1+maxHBInfoFields)
	}
	root, err := dec.start()
	if err != nil {
		return nil, err
	}
	if root.Name.Local != "xml" {
		return nil, errNotXML
	}
	r := &response{}
	var hblist func() error
	if withHBList {
		hblist = func() (err error) {
			if r.hbinfo != nil {
				return errors.New("hblist given twice")
			}
			r.hbinfo, err = dec.hblist()
			return err
		}
	}
	if r.fields, err = dec.fields("", maxFields, hblist); err != nil {
		return nil, err
	}
	if err := dec.end(); err != nil {
		return nil, err
	}
	return r, nil
}

// fields reads the children of the element just started, up to its end, as
// fields: at most max, none twice; a child with children of its own is
// skipped, except <hblist> when hblist is given. in names the element in
// messages ("" for the root).
func (d *decoder) fields(in string, max int, hblist func() error) (params, error) {
	var f params
	for {
		tok, err := d.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if hblist != nil && t.Name.Local == "hblist" {
				if err := hblist(); err != nil {
					return nil, err
				}
				continue
			}
			v, nested, err := d.text()
			if err != nil {
				return nil, err
			}
			if nested {
				continue // not a field: skipped
			}
			if f.has(t.Name.Local) {
				return nil, errors.New(in + "field " + strconv.Quote(t.Name.Local) + " given twice")
			}
			if len(f) == max {
				return nil, errors.New("more than " + strconv.Itoa(max) + " " + in + "fields")
			}
			f = append(f, param{t.Name.Local, v})
		case xml.EndElement:
			return f, nil
		}
	}
}

// decoder wraps xml.Decoder with the depth and element bounds. It reads
// with RawToken, which skips encoding/xml's name-space bookkeeping (WeChat
// Pay answers have no name spaces), and checks that every end tag matches its
// start itself.
type decoder struct {
	d      *xml.Decoder
	stack  [maxDepth]string // open elements' local names
	depth  int
	budget int // elements still allowed
}

func (d *decoder) token() (xml.Token, error) {
	tok, err := d.d.RawToken()
	if err == io.EOF {
		if d.depth > 0 {
			return nil, errors.New("truncated XML")
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if d.budget--; d.budget < 0 {
			return nil, errors.New("too many elements")
		}
		if d.depth == maxDepth {
			return nil, errors.New("nested deeper than " + strconv.Itoa(maxDepth))
		}
		d.stack[d.depth] = t.Name.Local
		d.depth++
	case xml.EndElement:
		if d.depth == 0 || d.stack[d.depth-1] != t.Name.Local {
			return nil, errors.New("malformed XML: unexpected end element </" + t.Name.Local + ">")
		}
		d.depth--
	}
	return tok, nil
}

// start returns the root element, skipping the prolog.
func (d *decoder) start() (xml.StartElement, error) {
	for {
		tok, err := d.token()
		if err != nil {
			return xml.StartElement{}, errNotXML
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return xml.StartElement{}, errNotXML
			}
		}
	}
}

// end checks that nothing but white space, comments and processing
// instructions follows the root.
func (d *decoder) end() error {
	for {
		tok, err := d.token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return errors.New("content after </xml>")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return errors.New("content after </xml>")
		}
	}
}

// text reads the text of the element whose start was just read, up to and
// including its end. nested is true when the element had child elements;
// they are skipped (within the bounds).
func (d *decoder) text() (text string, nested bool, err error) {
	var (
		b     []byte // when the text comes in several pieces
		parts int
	)
	for level := 0; ; {
		tok, err := d.token()
		if err != nil {
			return "", false, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if level > 0 {
				break
			}
			switch parts++; parts {
			case 1:
				text = string(t) // the usual case: one allocation
			case 2:
				b = append([]byte(text), t...)
			default:
				b = append(b, t...)
			}
		case xml.StartElement:
			nested = true
			level++
		case xml.EndElement:
			if level == 0 {
				if parts > 1 {
					text = string(b)
				}
				return text, nested, nil
			}
			level--
		}
	}
}

// hblist reads the <hbinfo> entries up to </hblist>; other children are
// skipped.
func (d *decoder) hblist() ([]params, error) {
	list := []params{}
	for {
		tok, err := d.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "hbinfo" {
				if _, _, err := d.text(); err != nil {
					return nil, err
				}
				continue
			}
			if len(list) == maxHBInfo {
				return nil, errors.New("more than " + strconv.Itoa(maxHBInfo) + " hbinfo entries")
			}
			info, err := d.fields("hbinfo ", maxHBInfoFields, nil)
			if err != nil {
				return nil, err
			}
			list = append(list, info)
		case xml.EndElement:
			return list, nil
		}
	}
}

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
	fields map[string]string
	hbinfo []map[string]string
}

func (r *response) get(k string) string { return r.fields[k] }

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

var errNotXML = errors.New("not a WeChat Pay XML answer")

// decodeXML decodes a flat WeChat Pay answer. It accepts plain or CDATA text,
// integers with or without CDATA, and one level of nesting for
// <hblist><hbinfo>; other nested elements are skipped. A field given twice,
// a root other than <xml> or malformed XML is an error. It never panics.
func decodeXML(body []byte) (*response, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	// Only UTF-8 answers are understood; refuse other charsets instead of
	// guessing.
	d.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, errors.New("unsupported charset " + strconv.Quote(label))
	}
	root, err := nextStart(d)
	if err != nil {
		return nil, err
	}
	if root.Name.Local != "xml" {
		return nil, errNotXML
	}
	r := &response{fields: make(map[string]string, 16)}
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "hblist" {
				if err := decodeHBList(d, r); err != nil {
					return nil, err
				}
				continue
			}
			v, nested, err := elementText(d)
			if err != nil {
				return nil, err
			}
			if nested {
				continue
			}
			if _, dup := r.fields[t.Name.Local]; dup {
				return nil, errors.New("field " + strconv.Quote(t.Name.Local) + " given twice")
			}
			r.fields[t.Name.Local] = v
		case xml.EndElement:
			// End of <xml>; anything after it but white space is refused.
			for {
				tok, err := d.Token()
				if err == io.EOF {
					return r, nil
				}
				if err != nil {
					return nil, err
				}
				if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) != 0 {
					if _, ok := tok.(xml.Comment); ok {
						continue
					}
					return nil, errors.New("content after </xml>")
				}
			}
		}
	}
}

// nextStart returns the first start element, skipping the prolog.
func nextStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return xml.StartElement{}, errNotXML
			}
			return xml.StartElement{}, err
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

// elementText reads the text of the element whose start was just read, up to
// and including its end. nested is true when the element had child elements;
// they are skipped.
func elementText(d *xml.Decoder) (text string, nested bool, err error) {
	var b []byte
	for {
		tok, err := d.Token()
		if err != nil {
			return "", false, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b = append(b, t...)
		case xml.StartElement:
			nested = true
			if err := d.Skip(); err != nil {
				return "", false, err
			}
		case xml.EndElement:
			return string(b), nested, nil
		}
	}
}

// decodeHBList reads <hbinfo> entries up to </hblist>.
func decodeHBList(d *xml.Decoder, r *response) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "hbinfo" {
				if err := d.Skip(); err != nil {
					return err
				}
				continue
			}
			info := make(map[string]string, 4)
			for done := false; !done; {
				tok, err := d.Token()
				if err != nil {
					return err
				}
				switch t := tok.(type) {
				case xml.StartElement:
					v, _, err := elementText(d)
					if err != nil {
						return err
					}
					if _, dup := info[t.Name.Local]; dup {
						return errors.New("hbinfo field " + strconv.Quote(t.Name.Local) + " given twice")
					}
					info[t.Name.Local] = v
				case xml.EndElement:
					done = true
				}
			}
			r.hbinfo = append(r.hbinfo, info)
		case xml.EndElement:
			return nil
		}
	}
}

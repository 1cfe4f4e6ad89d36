package redpack

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// scanXML is the hot-path decoder of WeChat Pay answers: a hand-written
// scanner for the flat documents the API returns. It converts the body to a
// string once and hands out substrings of it, so a typical answer costs a few
// allocations instead of encoding/xml's hundred-odd.
//
// It accepts a subset of what encoding/xml accepts and, on that subset,
// yields exactly the values encoding/xml would (the differential fuzz test
// holds it to that): an optional <?xml?> declaration (UTF-8 only), comments,
// a root <xml> whose children are elements holding text and CDATA sections
// with the five predefined entities, and one level of nesting for
// <hblist><hbinfo>. Other nested elements are skipped. Attributes, DOCTYPE,
// processing instructions inside the document, numeric character
// references, namespaces and text directly under the root are refused:
// WeChat Pay does not send them, and refusing is the safe reading.
func scanXML(body []byte) (*response, error) {
	s := scanner{src: string(body)}
	if err := s.prolog(); err != nil {
		return nil, err
	}
	name, empty, err := s.startTag()
	if err != nil {
		return nil, err
	}
	if name != "xml" {
		return nil, errNotXML
	}
	r := &response{fields: make(params, 0, 16)}
	if !empty {
		if err := s.root(r); err != nil {
			return nil, err
		}
	}
	if err := s.epilog(); err != nil {
		return nil, err
	}
	return r, nil
}

type scanner struct {
	src   string
	pos   int
	buf   []byte              // scratch for values that need unescaping
	depth int                 // nesting of skipped child elements
	names map[string]struct{} // field names, once there are many (see seen)
}

// maxSkipDepth bounds how deep skipped nested elements may go: real answers
// nest two levels (hblist/hbinfo), and a bound keeps hostile input from
// recursing once per byte pair.
const maxSkipDepth = 32

var (
	errSyntax    = errors.New("malformed XML")
	errTruncated = errors.New("truncated XML")
)

func (s *scanner) rest() string { return s.src[s.pos:] }

func (s *scanner) skipSpace() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// comment skips a comment at pos if there is one.
func (s *scanner) comment() (bool, error) {
	if !strings.HasPrefix(s.rest(), "<!--") {
		return false, nil
	}
	end := strings.Index(s.src[s.pos+4:], "--")
	if end < 0 {
		return false, errTruncated
	}
	end += s.pos + 4
	if end+2 >= len(s.src) || s.src[end+2] != '>' {
		return false, errSyntax // "--" inside a comment
	}
	if !validText(s.src[s.pos+4 : end]) {
		return false, errSyntax
	}
	s.pos = end + 3
	return true, nil
}

// prolog skips white space, an optional XML declaration and comments.
func (s *scanner) prolog() error {
	s.skipSpace()
	if strings.HasPrefix(s.rest(), "<?xml") {
		end := strings.Index(s.rest(), "?>")
		if end < 0 {
			return errTruncated
		}
		if err := checkDecl(s.src[s.pos+5 : s.pos+end]); err != nil {
			return err
		}
		s.pos += end + 2
	}
	for {
		s.skipSpace()
		ok, err := s.comment()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
	}
	if s.pos >= len(s.src) {
		return errNotXML
	}
	if s.src[s.pos] != '<' {
		return errNotXML
	}
	return nil
}

// checkDecl accepts the pseudo-attributes of an XML declaration: version
// 1.0, encoding UTF-8, standalone. Anything else is refused.
func checkDecl(d string) error {
	for {
		t := strings.TrimLeft(d, " \t\r\n")
		if t == "" {
			return nil
		}
		if len(t) == len(d) {
			return errSyntax // pseudo-attributes are separated by white space
		}
		eq := strings.IndexByte(t, '=')
		if eq < 0 {
			return errSyntax
		}
		name := strings.TrimRight(t[:eq], " \t\r\n")
		v := strings.TrimLeft(t[eq+1:], " \t\r\n")
		if len(v) < 2 || (v[0] != '"' && v[0] != '\'') {
			return errSyntax
		}
		end := strings.IndexByte(v[1:], v[0])
		if end < 0 {
			return errSyntax
		}
		val := v[1 : 1+end]
		d = v[2+end:]
		switch name {
		case "version":
			if val != "1.0" {
				return errors.New("unsupported XML version " + strconv.Quote(val))
			}
		case "encoding":
			if !strings.EqualFold(val, "utf-8") {
				return errors.New("unsupported charset " + strconv.Quote(val))
			}
		case "standalone":
		default:
			return errSyntax
		}
	}
}

// epilog accepts only white space and comments after the root.
func (s *scanner) epilog() error {
	for {
		s.skipSpace()
		if s.pos == len(s.src) {
			return nil
		}
		ok, err := s.comment()
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("content after </xml>")
		}
	}
}

func isNameStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isNameByte(c byte) bool  { return isNameStart(c) || isDigit(c) || c == '-' || c == '.' }

// name reads an element name at pos.
func (s *scanner) name() (string, error) {
	start := s.pos
	if s.pos >= len(s.src) {
		return "", errTruncated
	}
	if !isNameStart(s.src[s.pos]) {
		return "", errSyntax
	}
	for s.pos < len(s.src) && isNameByte(s.src[s.pos]) {
		s.pos++
	}
	return s.src[start:s.pos], nil
}

// startTag reads "<name>" or "<name/>" at pos (no attributes).
func (s *scanner) startTag() (name string, empty bool, err error) {
	if s.pos >= len(s.src) || s.src[s.pos] != '<' {
		return "", false, errSyntax
	}
	s.pos++
	if name, err = s.name(); err != nil {
		return "", false, err
	}
	s.skipSpace()
	if strings.HasPrefix(s.rest(), "/>") {
		s.pos += 2
		return name, true, nil
	}
	if s.pos >= len(s.src) {
		return "", false, errTruncated
	}
	if s.src[s.pos] != '>' {
		return "", false, errSyntax
	}
	s.pos++
	return name, false, nil
}

// endTag reads "</name>" at pos, which must close want.
func (s *scanner) endTag(want string) error {
	s.pos += 2 // "</"
	name, err := s.name()
	if err != nil {
		return err
	}
	s.skipSpace()
	if s.pos >= len(s.src) {
		return errTruncated
	}
	if s.src[s.pos] != '>' || name != want {
		return errSyntax
	}
	s.pos++
	return nil
}

// root reads the children of <xml> and its end tag.
func (s *scanner) root(r *response) error {
	for {
		if err := s.between(); err != nil {
			return err
		}
		if strings.HasPrefix(s.rest(), "</") {
			return s.endTag("xml")
		}
		name, empty, err := s.startTag()
		if err != nil {
			return err
		}
		if name == "hblist" {
			if !empty {
				if err := s.hblist(r); err != nil {
					return err
				}
			}
			continue
		}
		v, nested, err := s.content(name, empty)
		if err != nil {
			return err
		}
		if nested {
			continue
		}
		if s.seen(r, name) {
			return errors.New("field " + strconv.Quote(name) + " given twice")
		}
		r.fields = append(r.fields, param{name, v})
	}
}

// seen reports whether r already has a field name. A real answer has a dozen
// fields, searched in place; past 32 (only a hostile answer) a set keeps the
// check from going quadratic.
func (s *scanner) seen(r *response, name string) bool {
	if s.names == nil {
		if len(r.fields) < 32 {
			return r.fields.has(name)
		}
		s.names = make(map[string]struct{}, 2*len(r.fields))
		for _, kv := range r.fields {
			s.names[kv.k] = struct{}{}
		}
	}
	if _, ok := s.names[name]; ok {
		return true
	}
	s.names[name] = struct{}{}
	return false
}

// between skips white space and comments between elements; anything else
// but a tag is refused.
func (s *scanner) between() error {
	for {
		s.skipSpace()
		if s.pos >= len(s.src) {
			return errTruncated
		}
		ok, err := s.comment()
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if s.src[s.pos] != '<' || strings.HasPrefix(s.rest(), "<!") || strings.HasPrefix(s.rest(), "<?") {
			return errSyntax
		}
		return nil
	}
}

// hblist reads <hbinfo> entries up to </hblist>; other children are skipped.
func (s *scanner) hblist(r *response) error {
	for {
		if err := s.between(); err != nil {
			return err
		}
		if strings.HasPrefix(s.rest(), "</") {
			return s.endTag("hblist")
		}
		name, empty, err := s.startTag()
		if err != nil {
			return err
		}
		if name != "hbinfo" {
			if !empty {
				if err := s.skipElement(name); err != nil {
					return err
				}
			}
			continue
		}
		info := make(map[string]string, 4)
		for !empty {
			if err := s.between(); err != nil {
				return err
			}
			if strings.HasPrefix(s.rest(), "</") {
				if err := s.endTag("hbinfo"); err != nil {
					return err
				}
				break
			}
			k, kempty, err := s.startTag()
			if err != nil {
				return err
			}
			v, _, err := s.content(k, kempty)
			if err != nil {
				return err
			}
			if _, dup := info[k]; dup {
				return errors.New("hbinfo field " + strconv.Quote(k) + " given twice")
			}
			info[k] = v
		}
		r.hbinfo = append(r.hbinfo, info)
	}
}

// skipElement skips the content of name, whose start tag was read, up to and
// including its end tag, checking that it is well formed.
func (s *scanner) skipElement(name string) error {
	_, _, err := s.content(name, false)
	return err
}

// content reads the text of the element name whose start tag was just read,
// through its end tag. When the element has child elements, nested is true,
// they are checked and skipped, and the text is dropped.
//
// Text made of one piece (a single CDATA section, or plain text without
// entities or CR) is returned as a substring of the source without copying;
// only mixed or escaped text is assembled in the scratch buffer.
func (s *scanner) content(name string, empty bool) (text string, nested bool, err error) {
	if empty {
		return "", false, nil
	}
	var t textBuilder
	t.buf = s.buf[:0]
	defer func() { s.buf = t.buf }()
	for {
		i, ok := plainText(s.src[s.pos:])
		if !ok {
			return "", false, errSyntax
		}
		if s.pos+i == len(s.src) {
			return "", false, errTruncated
		}
		chunk := s.src[s.pos : s.pos+i]
		if strings.Contains(chunk, "]]>") {
			return "", false, errSyntax
		}
		t.add(chunk)
		s.pos += i
		switch c := s.src[s.pos]; {
		case c == '\r':
			t.addByte('\n')
			s.pos++
			if s.pos < len(s.src) && s.src[s.pos] == '\n' {
				s.pos++
			}
		case c == '&':
			b, n := entity(s.rest())
			if n == 0 {
				return "", false, errSyntax
			}
			t.addByte(b)
			s.pos += n
		case strings.HasPrefix(s.rest(), "<![CDATA["):
			body := s.pos + len("<![CDATA[")
			e := strings.Index(s.src[body:], "]]>")
			if e < 0 {
				return "", false, errTruncated
			}
			cd := s.src[body : body+e]
			if !validText(cd) {
				return "", false, errSyntax
			}
			if strings.IndexByte(cd, '\r') < 0 {
				t.add(cd)
			} else {
				t.flatten()
				t.buf = appendNormalizedCR(t.buf, cd)
			}
			s.pos = body + e + 3
		case strings.HasPrefix(s.rest(), "<!--"):
			if _, err := s.comment(); err != nil {
				return "", false, err
			}
		case strings.HasPrefix(s.rest(), "</"):
			if err := s.endTag(name); err != nil {
				return "", false, err
			}
			if nested {
				return "", true, nil
			}
			return t.String(), false, nil
		case strings.HasPrefix(s.rest(), "<!") || strings.HasPrefix(s.rest(), "<?"):
			return "", false, errSyntax
		default:
			// A child element: check it and skip it.
			child, cempty, err := s.startTag()
			if err != nil {
				return "", false, err
			}
			nested = true
			if !cempty {
				if s.depth++; s.depth > maxSkipDepth {
					return "", false, errors.New("elements nested too deep")
				}
				saved := t.buf
				s.buf = nil
				_, _, err := s.content(child, false)
				s.depth--
				t.buf = saved[:0]
				t.pieces = 2
				if err != nil {
					return "", false, err
				}
			}
		}
	}
}

// textBuilder joins the pieces of an element's text, keeping a lone piece
// as a substring and copying only when there are several.
type textBuilder struct {
	one    string // the first piece while pieces == 1
	buf    []byte // the text once pieces >= 2
	pieces int
}

func (t *textBuilder) add(p string) {
	if p == "" {
		return
	}
	switch t.pieces {
	case 0:
		t.one = p
		t.pieces = 1
	case 1:
		t.buf = append(append(t.buf[:0], t.one...), p...)
		t.pieces = 2
	default:
		t.buf = append(t.buf, p...)
	}
}

// flatten moves the text into buf so that bytes can be appended.
func (t *textBuilder) flatten() {
	switch t.pieces {
	case 0:
		t.buf = t.buf[:0]
	case 1:
		t.buf = append(t.buf[:0], t.one...)
	}
	t.pieces = 2
}

func (t *textBuilder) addByte(b byte) {
	t.flatten()
	t.buf = append(t.buf, b)
}

func (t *textBuilder) String() string {
	switch t.pieces {
	case 0:
		return ""
	case 1:
		return t.one
	}
	return string(t.buf)
}

// entity decodes one of the five predefined entities at the start of t and
// returns its byte and length; n is 0 for anything else.
func entity(t string) (b byte, n int) {
	for _, e := range [...]struct {
		name string
		b    byte
	}{{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&apos;", '\''}, {"&quot;", '"'}} {
		if strings.HasPrefix(t, e.name) {
			return e.b, len(e.name)
		}
	}
	return 0, 0
}

// appendNormalizedCR appends t with CRLF and lone CR turned into LF, as XML
// requires of every text.
func appendNormalizedCR(dst []byte, t string) []byte {
	for {
		i := strings.IndexByte(t, '\r')
		if i < 0 {
			return append(dst, t...)
		}
		dst = append(dst, t[:i]...)
		dst = append(dst, '\n')
		t = t[i+1:]
		if len(t) > 0 && t[0] == '\n' {
			t = t[1:]
		}
	}
}

// Byte classes for scanning text in one pass.
const (
	clsPlain   = iota // printable ASCII, tab, LF
	clsStop           // '<', '&', CR: markup or text that needs rewriting
	clsInvalid        // other ASCII control characters: not XML characters
	clsMulti          // first byte of a multi-byte UTF-8 sequence (or invalid)
)

var textClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == '<' || c == '&' || c == '\r':
			t[c] = clsStop
		case c < 0x20 && c != '\t' && c != '\n':
			t[c] = clsInvalid
		case c >= utf8.RuneSelf:
			t[c] = clsMulti
		}
	}
	return t
}()

// plainText returns the length of the run of plain text at the start of t,
// up to the first '<', '&' or CR (or all of t); ok is false when the run
// holds a character XML does not allow.
func plainText(t string) (n int, ok bool) {
	for n < len(t) {
		switch textClass[t[n]] {
		case clsPlain:
			n++
		case clsStop:
			return n, true
		case clsInvalid:
			return n, false
		default:
			r, size := utf8.DecodeRuneInString(t[n:])
			if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
				return n, false
			}
			n += size
		}
	}
	return n, true
}

// validText reports whether t is UTF-8 made of XML characters.
func validText(t string) bool {
	for i := 0; i < len(t); {
		n, ok := plainText(t[i:])
		if !ok {
			return false
		}
		i += n
		if i < len(t) {
			i++ // '<', '&' and CR are XML characters
		}
	}
	return true
}

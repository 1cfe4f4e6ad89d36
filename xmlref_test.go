package redpack

// decodeXMLReference is the first decoder of answers, built on encoding/xml.
// It stays as the reference the hand-written scanner (scanXML) is fuzzed
// against: whatever the scanner accepts, the reference must accept with the
// same fields.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
)

// decodeXMLReference decodes a flat WeChat Pay answer. It accepts plain or CDATA text,
// integers with or without CDATA, and one level of nesting for
// <hblist><hbinfo>; other nested elements are skipped. A field given twice,
// a root other than <xml> or malformed XML is an error. It never panics.
func decodeXMLReference(body []byte) (*response, error) {
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
	r := &response{}
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
			if r.fields.has(t.Name.Local) {
				return nil, errors.New("field " + strconv.Quote(t.Name.Local) + " given twice")
			}
			r.fields = append(r.fields, param{t.Name.Local, v})
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

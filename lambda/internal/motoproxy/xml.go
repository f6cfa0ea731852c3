package motoproxy

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// span is a byte range of an answer.
type span struct{ start, end int }

// element is where a child of the answer's root lies: the whole element,
// its content, and the spans of its own <item> children.
type element struct {
	whole, content span
	items          []span
}

// scan finds the root's children named in want and the offset where the
// root's end tag starts.
func scan(body []byte, want ...string) (map[string]*element, int, error) {
	found := map[string]*element{}
	d := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	var cur *element
	itemStart := 0
	for {
		before := int(d.InputOffset())
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil, 0, errors.New("the answer has no root end tag")
		}
		if err != nil {
			return nil, 0, err
		}
		after := int(d.InputOffset())
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 2:
				for _, name := range want {
					if t.Name.Local == name {
						cur = &element{whole: span{before, 0}, content: span{after, 0}}
						found[name] = cur
					}
				}
			case depth == 3 && cur != nil && t.Name.Local == "item":
				itemStart = before
			}
		case xml.EndElement:
			switch {
			case depth == 1:
				return found, before, nil
			case depth == 2 && cur != nil:
				cur.content.end = before
				cur.whole.end = after
				cur = nil
			case depth == 3 && cur != nil && t.Name.Local == "item":
				cur.items = append(cur.items, span{itemStart, after})
			}
			depth--
		}
	}
}

// page keeps size items of the answer's setElement from offset on and adds a
// nextToken when more remain.
func page(body []byte, setElement string, offset, size int) ([]byte, error) {
	found, rootEnd, err := scan(body, setElement)
	if err != nil {
		return nil, err
	}
	set := found[setElement]
	if set == nil {
		return nil, fmt.Errorf("the answer has no %s", setElement)
	}
	var out bytes.Buffer
	out.Write(body[:set.content.start])
	end := min(offset+size, len(set.items))
	for _, it := range set.items[min(offset, len(set.items)):end] {
		out.Write(body[it.start:it.end])
	}
	out.Write(body[set.content.end:rootEnd])
	if end < len(set.items) {
		out.WriteString("<nextToken>" + pageToken(end) + "</nextToken>")
	}
	out.Write(body[rootEnd:])
	return out.Bytes(), nil
}

// addUnsuccessful adds failed items to the answer's unsuccessful list.
func addUnsuccessful(body []byte, failed []unsuccessful) ([]byte, error) {
	found, rootEnd, err := scan(body, "unsuccessful")
	if err != nil {
		return nil, err
	}
	var list bytes.Buffer
	list.WriteString("<unsuccessful>")
	at, rest := rootEnd, rootEnd
	if u := found["unsuccessful"]; u != nil {
		if u.content.end > u.content.start {
			list.Write(body[u.content.start:u.content.end])
		}
		at, rest = u.whole.start, u.whole.end
	}
	writeItems(&list, failed)
	list.WriteString("</unsuccessful>")
	var out bytes.Buffer
	out.Write(body[:at])
	out.Write(list.Bytes())
	out.Write(body[rest:])
	return out.Bytes(), nil
}

// writeOnlyUnsuccessful answers a batch call every item of which failed.
func writeOnlyUnsuccessful(w http.ResponseWriter, action string, failed []unsuccessful) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<" + action + `Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">`)
	b.WriteString("<requestId>motoproxy</requestId><unsuccessful>")
	writeItems(&b, failed)
	b.WriteString("</unsuccessful></" + action + "Response>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

func writeItems(b *bytes.Buffer, failed []unsuccessful) {
	for _, f := range failed {
		b.WriteString("<item><error><code>")
		xmlEscape(b, f.Code)
		b.WriteString("</code><message>")
		xmlEscape(b, f.Message)
		b.WriteString("</message></error><resourceId>")
		xmlEscape(b, f.id)
		b.WriteString("</resourceId></item>")
	}
}

#!/usr/bin/python3
"""Renders a blast `--out markdown` document with Python-Markdown (tables extension, as a
Markdown page would be shown) and checks the HTML against expectations (JSON).

    check_md.py DOCUMENT EXPECT.json

The source must be UTF-8 and hold no raw HTML (no '<' at all); the HTML may hold only the
elements a summary is made of (headings, paragraphs, tables, lists, strong), so a name that
looked like markup (emphasis, links, tags) shows as text. Prints the tables' rows on success.

EXPECT.json (keys optional): {"heading": TEXT, "tables": [{"header": [...], "rows": [[cell...]...]}],
              "items": [TEXT...]?}  (a null cell is not compared)
"""
import json
import sys
from html.parser import HTMLParser

import markdown

ALLOWED = {"h1", "h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "strong"}


def fail(msg):
    print("check_md: " + msg, file=sys.stderr)
    sys.exit(1)


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.headings, self.tables, self.items = set(), [], [], []
        self.text = None  # text being collected, or None
        self.row = None

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.row = []
        elif tag in ("th", "td", "h2", "h3", "li"):
            self.text = ""

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self.row.append(self.text.strip())
            self.text = None
        elif tag == "tr":
            self.tables[-1].append(self.row)
        elif tag in ("h2", "h3"):
            self.headings.append(self.text.strip())
            self.text = None
        elif tag == "li":
            self.items.append(self.text.strip())
            self.text = None

    def handle_data(self, data):
        if self.text is not None:
            self.text += data


def main():
    doc, expect_path = sys.argv[1], sys.argv[2]
    with open(expect_path, encoding="utf-8") as f:
        exp = json.load(f)
    try:
        src = open(doc, encoding="utf-8", errors="strict").read()
    except UnicodeDecodeError as e:
        fail("not UTF-8: %s" % e)
    if "<" in src:
        fail("raw '<' in the source (HTML): %r" % src[src.index("<") - 20:src.index("<") + 20])
    page = Page()
    page.feed(markdown.markdown(src, extensions=["tables"]))
    if not page.tags <= ALLOWED:
        fail("unexpected elements %r" % sorted(page.tags - ALLOWED))
    if not page.headings or page.headings[0] != exp.get("heading", page.headings[0]):
        fail("heading %r, expected %r" % (page.headings[:1], exp["heading"]))
    if "tables" in exp and len(page.tables) != len(exp["tables"]):
        fail("%d tables, expected %d" % (len(page.tables), len(exp["tables"])))
    for n, (got, et) in enumerate(zip(page.tables, exp.get("tables", []))):
        if got[0] != et["header"]:
            fail("table %d header %r, expected %r" % (n, got[0], et["header"]))
        rows = got[1:]
        if len(rows) != len(et["rows"]):
            fail("table %d: %d rows, expected %d: %r" % (n, len(rows), len(et["rows"]), rows))
        for r, (gr, er) in enumerate(zip(rows, et["rows"])):
            if len(gr) != len(et["header"]):
                fail("table %d row %d has %d cells: %r" % (n, r, len(gr), gr))
            for c, want in enumerate(er):
                if want is not None and gr[c] != want:
                    fail("table %d row %d cell %d %r, expected %r" % (n, r, c, gr[c], want))
            print(" | ".join(gr))
    for item in exp.get("items", []):
        if item not in page.items:
            fail("no list item %r in %r" % (item, page.items))


main()

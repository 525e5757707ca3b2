"""``LongSelect`` renders exactly the options Django's ``Select`` renders (values, labels, groups,
selection, attributes), escaped, without a template per option."""

from __future__ import annotations

from html.parser import HTMLParser

from django import forms

from eduplatform.core.widgets import LongSelect

CHOICES = [
    ("", "——请选择——"),
    ("广州市", [("440106001", "五山街道（440106001）"), ("440106002", "<b>石牌</b> & 街道")]),
    ("深圳市", [("440304001", '福田"街道'), ("440304002", "沙头街道")]),
    ("999", "单独的选项"),
]


class Options(HTMLParser):
    """(tag, attributes) of the select and option groups, and (group, value, label, selected) per option."""

    def __init__(self) -> None:
        super().__init__()
        self.select: dict = {}
        self.options: list[tuple] = []
        self.group = None
        self._option: list | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "select":
            self.select = dict(attrs)
        elif tag == "optgroup":
            self.group = dict(attrs)["label"]
        elif tag == "option":
            found = dict(attrs)
            self._option = [self.group, found["value"], "", "selected" in found]

    def handle_endtag(self, tag):
        if tag == "optgroup":
            self.group = None
        elif tag == "option":
            self.options.append(tuple(self._option))
            self._option = None

    def handle_data(self, data):
        if self._option is not None:
            self._option[2] += data


def parsed(html: str) -> Options:
    parser = Options()
    parser.feed(html)
    return parser


def test_the_markup_holds_what_djangos_select_holds():
    attrs = {"class": "form-select", "id": "id_town_code", "required": True}
    for value in ("440106002", "999", "", None, "not-a-choice"):
        ours = parsed(LongSelect(choices=CHOICES).render("town_code", value, attrs=attrs))
        theirs = parsed(forms.Select(choices=CHOICES).render("town_code", value, attrs=attrs))
        assert ours.options == theirs.options
        assert ours.select == theirs.select == {"name": "town_code", "class": "form-select", "id": "id_town_code",
                                                 "required": None}
    chosen = parsed(LongSelect(choices=CHOICES).render("town_code", "440106002")).options
    assert [o for o in chosen if o[3]] == [("广州市", "440106002", "<b>石牌</b> & 街道", True)]


def test_labels_and_values_are_escaped():
    html = LongSelect(choices=CHOICES).render("town_code", "")
    assert "<b>" not in html and "&lt;b&gt;石牌&lt;/b&gt; &amp; 街道" in html
    assert "福田&quot;街道" in html

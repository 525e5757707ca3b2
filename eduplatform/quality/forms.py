"""The forms of the issue actions (the services check everything again)."""

from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy

from eduplatform.quality.issues import ATTACHMENT_MAX_BYTES, EXPLANATION_MAX


class ExplainForm(forms.Form):
    explanation = forms.CharField(label=gettext_lazy("情况说明 *"), widget=forms.Textarea(attrs={"rows": 4}), max_length=EXPLANATION_MAX,
                                  error_messages={"required": gettext_lazy("请填写情况说明")})
    attachment = forms.FileField(label=lazy(lambda: gettext("佐证材料（PDF、JPG、PNG，不超过 %(mb)s MB）") % {
        "mb": ATTACHMENT_MAX_BYTES // 1024 // 1024}, str)(), required=False)


class NoteForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)


class ReopenForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("审核意见 *"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                           error_messages={"required": gettext_lazy("退回时请填写审核意见，说明学校还需做什么")})

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from eduplatform.core.models import ImportMode, WritePolicy
from eduplatform.orgs.forms import school_picker_field

MODE_HELP = {
    ImportMode.DRY_RUN: gettext_lazy("检查每一行并生成错误报告，不写入任何数据；没有错误时可一键正式导入同一文件。"),
    ImportMode.ALL_OR_NOTHING: gettext_lazy("只有全部行都正确才写入；只要有一行出错，整个文件一行也不写入。"),
    ImportMode.ACCEPT_VALID: gettext_lazy("正确的行立即写入，错误的行列入错误报告，修改后可只把这些行再导入一次。"),
}

POLICY_HELP = {
    WritePolicy.CREATE_ONLY: gettext_lazy("只写入新记录；编号（证件号）已存在且内容不同的行列入报告、不修改原记录。内容完全相同的行记为“无变化”。"),
    WritePolicy.UPDATE_ONLY: gettext_lazy("只修改已有记录（逐字段列出旧值 → 新值）；表中新出现的编号（证件号）列入报告、不新增。"),
    WritePolicy.CREATE_AND_UPDATE: gettext_lazy("新记录新增，已有记录按表格内容修改。建议先“仅校验”，核对报告中每一处修改后再正式导入。"),
}


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("选择文件 *"), error_messages={"required": gettext_lazy("请选择要导入的文件")},
                           help_text=gettext_lazy("支持 .xlsx、.xls、.csv，最大 40 MB"),
                           widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xlsm,.xls,.ods,.csv",
                                                                  "class": "form-control"}))
    mode = forms.ChoiceField(label=gettext_lazy("导入方式 *"), choices=ImportMode.choices, initial=ImportMode.DRY_RUN,
                             widget=forms.RadioSelect)
    write_policy = forms.ChoiceField(label=gettext_lazy("新增或更新 *"), choices=WritePolicy.choices, initial=WritePolicy.CREATE_ONLY,
                                     required=False, widget=forms.RadioSelect)

    def __init__(self, *args, ask_school: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if ask_school:
            field = school_picker_field(label=gettext_lazy("学校"), help_text=gettext_lazy("导入到哪所学校（输入学校名称或学校标识码查找）"))
            field.widget.attrs["class"] = "form-control"
            self.fields = {"school_code": field, **self.fields}

    def mode_options(self) -> list[dict[str, object]]:
        chosen = self["mode"].value() or ImportMode.DRY_RUN
        return [{"value": v, "label": label, "help": MODE_HELP[v], "checked": v == chosen}
                for v, label in ImportMode.choices]

    def clean_write_policy(self) -> str:
        # A post without the choice (an older page, a script) gets the safe default: only new records.
        return self.cleaned_data.get("write_policy") or WritePolicy.CREATE_ONLY

    def policy_options(self) -> list[dict[str, object]]:
        chosen = self["write_policy"].value() or WritePolicy.CREATE_ONLY
        return [{"value": v, "label": label, "help": POLICY_HELP[v], "checked": v == chosen}
                for v, label in WritePolicy.choices]

from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class StudentsConfig(AppConfig):
    name = "eduplatform.students"
    label = "students"
    verbose_name = gettext_lazy("学生与学籍")

    def ready(self) -> None:
        from eduplatform.students import importing  # noqa: F401 — registers the "students" import kind

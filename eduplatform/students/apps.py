from django.apps import AppConfig


class StudentsConfig(AppConfig):
    verbose_name = "学生与学籍"
    name = "eduplatform.students"
    label = "students"

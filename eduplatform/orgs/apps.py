from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "eduplatform.orgs"
    label = "orgs"

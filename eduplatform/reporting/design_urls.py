"""URLs of the form designer, form JSON import/export and the completeness pages."""

urlpatterns: list = []

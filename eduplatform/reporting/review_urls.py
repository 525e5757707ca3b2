"""URLs of the collection tasks, the school's entry page and the review chain."""

urlpatterns: list = []

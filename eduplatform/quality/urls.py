from django.urls import path

from eduplatform.quality import views

app_name = "quality"

urlpatterns = [
    path("", views.issue_list, name="issues"),
    path("review/", views.review_queue, name="review"),
    path("duplicates/", views.duplicate_groups, name="duplicates"),
    path("issues/<int:issue_id>/", views.issue_detail, name="issue"),
    path("issues/<int:issue_id>/attachment/", views.issue_attachment, name="attachment"),
    *[path(f"issues/<int:issue_id>/{action}/", views.issue_action, {"action": action}, name=action)
      for action in views.ACTIONS],
    path("rules/", views.rule_list, name="rules"),
    path("scans/", views.scan_list, name="scans"),
    path("scans/<int:scan_id>/", views.scan_detail, name="scan"),
]

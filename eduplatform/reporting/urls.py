"""Pages of 报表与审核: review-chain pages (tasks, entry, review) and design pages (designer,
completeness), each in its own module."""

from eduplatform.reporting import design_urls, review_urls

app_name = "reporting"
urlpatterns = [*review_urls.urlpatterns, *design_urls.urlpatterns]

from django.urls import path

from eduplatform.staff import views

app_name = "staff"

urlpatterns = [
    path("", views.staff_list, name="list"),
    path("new/", views.staff_create, name="create"),
    path("administrators/", views.administrator_list, name="administrators"),
    path("administrators/new/", views.administrator_create, name="administrator_create"),
    path("transfers/", views.transfer_list, name="transfers"),
    path("transfers/new/", views.transfer_create, name="transfer_create"),
    path("transfers/inbox/", views.inbox, name="inbox"),
    path("transfers/<int:transfer_id>/", views.transfer_detail, name="transfer"),
    path("transfers/<int:transfer_id>/decide/", views.transfer_decide, name="transfer_decide"),
    path("transfers/<int:transfer_id>/withdraw/", views.transfer_withdraw, name="transfer_withdraw"),
    path("<int:staff_id>/", views.staff_detail, name="detail"),
    path("<int:staff_id>/reveal/", views.staff_reveal, name="reveal"),
    path("<int:staff_id>/title/", views.staff_title, name="title"),
    path("<int:staff_id>/leave/", views.staff_end, name="leave"),
]

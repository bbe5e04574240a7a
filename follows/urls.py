from django.urls import path

from follows import views

urlpatterns = [
    path("people/", views.people_page, name="people"),
    path("@<str:username>/follow/", views.follow_toggle, name="follow"),
    path("@<str:username>/block/", views.block_toggle, name="block"),
    path("@<str:username>/report/", views.report_member, name="report-member"),
    path("@<str:username>/followers/", views.followers_page, name="followers"),
    path("@<str:username>/following/", views.following_page, name="following"),
]

from django.urls import path

from petitions import share, views

app_name = "petitions"

urlpatterns = [
    path("", views.home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("confirm/<str:token>/", views.signature_confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("p/<slug:slug>/", views.petition_detail, name="detail"),
    path("p/<slug:slug>/sign/", views.petition_sign, name="sign"),
    path("p/<slug:slug>/signed/", views.petition_signed, name="signed"),
    path("p/<slug:slug>/confirmed/", views.petition_confirmed, name="confirmed"),
    path("p/<slug:slug>/own-mail/", views.letters_own_mail, name="own_mail"),
    path("digests/<str:token>/names.csv", views.digest_download, name="digest_download"),
    path("p/<slug:slug>/count.json", views.petition_count, name="count"),
    path("p/<slug:slug>/delivery/", views.petition_delivery, name="delivery"),
    path("p/<slug:slug>/delivery.json", views.petition_delivery_json, name="delivery_json"),
    path("letters/<str:token>/", views.letter_state, name="letter_state"),
    path("p/<slug:slug>/preview/", views.petition_preview, name="preview"),
    path("p/<slug:slug>/share.png", share.petition_share_image, name="share_image"),
    path("p/<slug:slug>/embed/", views.petition_embed, name="embed"),
    path("p/<slug:slug>/embed/sign/", views.petition_embed_sign, name="embed_sign"),
    path("p/<slug:slug>/embed/signed/", views.petition_embed_signed, name="embed_signed"),
]

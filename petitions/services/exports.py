"""Records of exports: who exported what, and the digest of the bytes sent."""

from django.contrib.auth.models import User

from petitions.models import Petition, SignatureExport


def signature_export_start(*, petition: Petition, user: User, columns: list[str]) -> SignatureExport:
    """Record that `user` is exporting `columns` of `petition`'s signatures.

    The record exists from the first byte on, whether or not the download
    finishes; `signature_export_complete` fills in its digest at the end.
    """
    return SignatureExport.objects.create(petition=petition, created_by=user, columns=list(columns))


def signature_export_complete(*, export_id: int, sha256: str, row_count: int) -> None:
    """Record the digest and row count of an export whose every byte was sent."""
    SignatureExport.objects.filter(pk=export_id).update(sha256=sha256, row_count=row_count)

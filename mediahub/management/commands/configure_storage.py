"""Apply what mediahub needs of its storage: on S3, the bucket's CORS rules for browser playback
and browser uploads (``PLAYBACK_CORS_ORIGINS``). ``manage.py up`` runs it at every start."""

from django.conf import settings
from django.core.management.base import BaseCommand

from mediahub.media import storage


class Command(BaseCommand):
    help = "Set the S3 bucket's CORS rules from PLAYBACK_CORS_ORIGINS (nothing to do for local files)."

    def handle(self, *args, **options) -> None:
        origins = settings.PLAYBACK_CORS_ORIGINS
        if storage.get_store().configure_cors(origins):
            self.stdout.write(f"bucket CORS set: GET/HEAD/PUT from {', '.join(origins)}")

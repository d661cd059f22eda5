import signal
import threading

from django.core.management.base import BaseCommand

from tasks.scheduler import periodic_jobs, run_forever


class Command(BaseCommand):
    help = "Run the periodic jobs (task sweeper and reaper, webhook sweep, ...) until stopped."

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        names = ", ".join(job.name for job in periodic_jobs())
        self.stdout.write(f"scheduler running: {names}")
        run_forever(stop)

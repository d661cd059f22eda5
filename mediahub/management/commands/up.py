"""``manage.py up`` (what ``make run`` runs): mediahub on one machine, with embedded services.

Starts the embedded Redis when ``REDIS_URL`` is unset (the embedded PostgreSQL is already up: the
settings started it), migrates, issues a demo tenant key, then runs gunicorn, the Dramatiq workers
and the scheduler, each in its own process group, and restarts any of them that exits (see
``mediahub.supervisor``). Ctrl-C or SIGTERM stops all of them, then Redis and PostgreSQL, and
returns.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from mediahub import services
from mediahub.supervisor import Program, Supervisor, TooManyCrashes
from tasks.workers import worker_groups
from tenants.services import issue_demo_key

READY_TIMEOUT_SECONDS = 60


class Command(BaseCommand):
    help = "Run mediahub (API, workers, scheduler) with embedded services where none are configured."

    def handle(self, *args, **options) -> None:
        # Our lines must not wait in a pipe's buffer behind the children's (logs, tests).
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        data_dir = settings.DATA_DIR
        host = os.environ.get("HOST", "127.0.0.1")
        port = os.environ.get("PORT", "8000")
        base_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
        # Children reach the same services without starting or attaching to anything themselves.
        child_env = {
            **os.environ,
            "MEDIAHUB_DATA": str(data_dir),
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.REDIS_URL,
            "BROKER_URL": settings.BROKER_URL,
        }
        embedded_redis = not os.environ.get("REDIS_URL")
        embedded_database = not os.environ.get("DATABASE_URL")

        # Explicitly, also for SIGINT: a shell starts background jobs with SIGINT ignored.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        redis_server: subprocess.Popen | None = None
        supervisor = Supervisor([], log=lambda line: self.stdout.write(f"supervisor: {line}"))
        failed = None
        try:
            if embedded_redis:
                redis_server = services.start_embedded_redis(data_dir)
            self.stdout.write(f"Migrating the database, data in {data_dir}…")
            call_command("migrate", interactive=False, verbosity=0)
            call_command("collectstatic", interactive=False, verbosity=0)
            call_command("configure_storage")
            demo = issue_demo_key()
            password = services.reset_operator_password()

            web_env = {**child_env, "HOST": host, "PORT": port}
            web_env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(data_dir / "prometheus"))
            supervisor.programs = [
                Program("gunicorn", gunicorn_argv(), web_env),
                *[Program(f"workers [{', '.join(g.queues)}]", g.argv, child_env) for g in worker_groups()],
                Program(
                    "scheduler",
                    [sys.executable, str(settings.BASE_DIR / "manage.py"), "run_scheduler"],
                    child_env,
                ),
            ]
            supervisor.start()
            _wait_until_ready(f"{base_url}/healthz", supervisor.programs)
            self.stdout.write(
                "\n".join(
                    [
                        "",
                        "mediahub is running",
                        f"  API      {base_url}/api/v1/   (Swagger UI: {base_url}/api/v1/docs)",
                        f"  admin    {base_url}/admin/   user 'admin', password {password}",
                        f"  API key  {demo.key}   (tenant '{demo.api_key.tenant.slug}', scope admin)",
                        f"  data     {data_dir}",
                        f'  try      curl -H "Authorization: Bearer {demo.key}" {base_url}/api/v1/tenant',
                        "Ctrl-C stops everything.",
                        "",
                    ]
                )
            )
            supervisor.run()  # until a signal arrives, or too many crashes
        except TooManyCrashes as exc:
            failed = str(exc)
        except KeyboardInterrupt:
            self.stdout.write("Stopping mediahub…")
        finally:
            _ignore_stop_signals()  # nothing may interrupt the shutdown: it would leave orphans behind
            services.stop_processes(supervisor.processes())
            if redis_server is not None:
                services.stop_processes([redis_server])
            if embedded_database:
                services.stop_embedded_database(data_dir)
        if failed:
            raise CommandError(f"{failed}. mediahub stopped.")
        self.stdout.write("mediahub stopped.")


def gunicorn_argv() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--config", "python:mediahub.gunicorn_conf", "mediahub.wsgi"]


def _interrupt(signum, frame) -> None:
    # Once only: make forwards a SIGTERM right after the terminal's SIGINT, and a second
    # KeyboardInterrupt would cut the shutdown short.
    _ignore_stop_signals()
    raise KeyboardInterrupt


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _wait_until_ready(url: str, programs: list[Program]) -> None:
    # A program failing while starting is a configuration error: no restart would help.
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for program in programs:
            if program.started.poll() is not None:
                status = program.started.returncode
                raise CommandError(f"{program.name} exited with status {status} while starting.")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise CommandError(f"the API did not answer {url} within {READY_TIMEOUT_SECONDS} s.")

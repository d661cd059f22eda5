"""Dramatiq middleware tying worker start and graceful stop to the task engine."""

import dramatiq


class TaskEngineMiddleware(dramatiq.Middleware):
    def before_worker_boot(self, broker, worker) -> None:
        from tasks import engine

        engine.shutting_down.clear()

    def before_worker_shutdown(self, broker, worker) -> None:
        # Runs before Dramatiq joins its worker threads: running tasks are handed back (pending)
        # instead of being left "processing" for the reaper.
        from tasks import engine

        engine.begin_shutdown()

"""Swagger UI as a person opens it: headless Chromium, no network beyond this machine."""

import pytest

from tests.browser import block_outside_requests, chromium

pytestmark = pytest.mark.django_db(transaction=True)


def test_swagger_ui_renders_the_api_offline(live_server):
    with chromium() as browser:
        page = browser.new_page()
        refused = block_outside_requests(page)
        page.goto(f"{live_server.url}/api/v1/docs")
        # The UI fetched the schema and drew one block per operation.
        page.wait_for_selector(".opblock", timeout=60_000)
        paths = page.eval_on_selector_all(".opblock-summary-path", "nodes => nodes.map(n => n.textContent)")
        assert "/api/v1/media" in [p.replace("\u200b", "") for p in paths]
        assert "/api/v1/tasks/{id}/cancel" in [p.replace("\u200b", "") for p in paths]
        # Opening an operation shows its parameters and responses.
        page.click("#operations-tasks-tasks_retrieve .opblock-summary")
        page.wait_for_selector("#operations-tasks-tasks_retrieve .responses-table", timeout=30_000)
    assert refused == []

"""docs/deploy.md covers what an operator has to do."""

from __future__ import annotations

from tests.deploy.support import ROOT


def test_deploy_guide_covers_the_operator_tasks():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    headings = " ".join(line.lower() for line in guide.splitlines() if line.startswith("#"))
    for topic in ("compose", "swarm", "upgrade", "rollback", "backup", "uptime", "budget"):
        assert topic in headings, topic
    assert "## Rehearsal" in guide

"""`cxp task complete` of a closing report citing a file not uploaded for its exchange: one line on
stderr naming `documents` and the item, a non-zero exit, nothing written (issue 20, point 4)."""
from __future__ import annotations

import json

import pytest

from tests.workflows.builders import VISITOR, Programme, evidence, programme  # noqa: F401
from workflows.cli.app import main


def test_the_cli_refuses_a_document_that_was_not_uploaded(programme: Programme, capsys, tmp_path) -> None:  # noqa: F811, ANN001
    programme.awaiting_evidence()
    task = programme.open_task("submit_evidence")
    report = evidence()  # its files are not uploaded: the builders upload them only in Programme.complete
    data = tmp_path / "report.json"
    data.write_text(json.dumps(report))
    with pytest.raises(SystemExit) as exited:
        main(["task", "complete", str(task.id), "--user", VISITOR, "--data", f"@{data}",
              "--db", str(programme.app.settings.database_url)])
    err = capsys.readouterr().err
    assert exited.value.code != 0 and "documents" in err and "item 1 (attendance.pdf)" in err and "Traceback" not in err
    assert programme.open_specs() == ["submit_evidence"]

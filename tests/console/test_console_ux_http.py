"""The console as a user keeps it open (issue 20, "broken for users"): the submit form sends only what the user
chose, the job log reads like a terminal, and the run page follows a running job. Plain HTTP; the browser
behaviour is in test_console_ux_browser.py."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.console.conftest import TOKEN

AUTH = {"X-Console-Token": TOKEN}


class _FormValues(HTMLParser):
    """What a browser submits for a form's HTML as served: text inputs' values, checked boxes, and each
    select's selected option (or its first option when none is selected, as browsers do)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._first: str | None = None
        self._chosen: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("text", "hidden") or (kind == "checkbox" and "checked" in a):
                self.values[a["name"]] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select":
            self._select, self._first, self._chosen = a.get("name"), None, None
        elif tag == "option" and self._select:
            if self._first is None:
                self._first = a.get("value", "")
            if "selected" in a:
                self._chosen = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            self.values[self._select] = self._chosen if self._chosen is not None else (self._first or "")
            self._select = None


def browser_form(html: str) -> dict[str, str]:
    parser = _FormValues()
    parser.feed(html)
    return parser.values


def _submit(client, form: dict[str, str]):
    response = client.post("/jobs", data=form, headers=AUTH)
    assert response.status_code == 200, response.text
    return client.app.state.console.queue.list_jobs()[-1]


def test_optional_choices_default_to_sending_nothing(client, runs_dir, tmp_path):
    """Item 8: the form as served, submitted untouched, must not add --conditioning (or any other choice)."""
    html = client.get("/jobs/form?operator=stylegan").text
    assert '<option value="" selected>(default: preset)</option>' in html
    form = browser_form(html)
    assert form["conditioning"] == ""
    form.update(data=str(runs_dir / "alpha" / "Data"), out=str(tmp_path / "run"))
    job = _submit(client, form)
    assert list(job.args) == [str(runs_dir / "alpha" / "Data"), str(tmp_path / "run")]
    assert job.request["config"]["conditioning"] is None
    # a chosen value is still sent, and the form shown again after an error keeps it
    again = client.post("/jobs", data={**form, "conditioning": "concat", "total_kimg": "-1"}, headers=AUTH).text
    assert '<option value="concat" selected>' in again and '<option value="" >(default: preset)' in again


def test_an_emptied_text_field_means_the_default(client, runs_dir, tmp_path):
    """Item 9: emptying 'background' (default white) or 'lr' sends nothing, never `--background ''`."""
    form = browser_form(client.get("/jobs/form?operator=stylegan").text)
    assert form["background"] == "white"
    form.update(data=str(runs_dir / "alpha" / "Data"), out=str(tmp_path / "run"), background="  ", total_kimg="",
                lr="")
    job = _submit(client, form)
    assert list(job.args) == [str(runs_dir / "alpha" / "Data"), str(tmp_path / "run")]
    assert job.request["config"]["background"] == "white" and job.request["config"]["total_kimg"] == 300


def test_job_log_keeps_the_text_after_the_last_carriage_return(client, tmp_path):
    """Item 10: a progress bar's refreshes ('\\r') are one line, as in a terminal; '\\r\\n' endings still end lines."""
    queue = client.app.state.console.queue
    job_id = queue.submit(operator="stylegan", args=[str(tmp_path), str(tmp_path / "run")], run_folder=tmp_path / "run",
                          cwd=tmp_path)
    job = queue.get(job_id)
    job.log_path.parent.mkdir(parents=True, exist_ok=True)
    bar = "".join(f"\rtraining {i:3d}%" for i in range(0, 101, 5))
    job.log_path.write_text(f"starting\r\n{bar}\ntick 1 kimg 0.1\n{bar}\ntick 2 kimg 0.2\n", encoding="utf-8")
    for url in (f"/jobs/{job_id}/log", f"/jobs/{job_id}/log/tail"):
        text = client.get(url).text
        log = text[text.index('<pre class="log">'):text.index("</pre>")]
        assert log.splitlines() == ['<pre class="log">starting', "training 100%", "tick 1 kimg 0.1", "training 100%",
                                    "tick 2 kimg 0.2"], url


def test_cyclegan_runs_show_both_validation_reports(client, runs_dir):
    """Item 13: CycleGAN writes validation_source.json and validation_target.json, not validation.json."""
    import json

    from tests.console.conftest import run_id_of

    run = runs_dir / "alpha"
    for domain, count in (("source", 7), ("target", 9)):
        report = {"root": f"/data/{domain}-images", "layout": "single", "usable": True, "num_usable": count,
                  "classes": {"": {"found": count, "usable": count, "excluded": 0, "too_small": 0}},
                  "fatal": [], "warnings": [f"{domain}.png is grayscale"], "bad_files": []}
        (run / f"validation_{domain}.json").write_text(json.dumps(report), encoding="utf-8")
    text = client.get(f"/runs/{run_id_of(client, 'alpha')}").text
    assert "No validation" not in text
    source, target = text.index('id="validation-source"'), text.index('id="validation-target"')
    assert source < text.index("7 usable images · layout single · /data/source-images") < target
    assert target < text.index("9 usable images · layout single · /data/target-images")
    assert "target.png is grayscale" in text


def test_run_page_polls_only_while_its_run_is_live(client, runs_dir, tmp_path):
    """Item 12 (the server side): /runs/RID/live answers the growing parts and a "run-update" event while a job
    writes the run, and 286 (htmx stops polling) once the job has ended or for a run nobody writes."""
    import json

    from tests.console.conftest import run_id_of

    from ganfactory.engine.stats import write_progress
    from ganfactory.jobs.model import JobStatus

    rid = run_id_of(client, "alpha")
    assert 'hx-get="/runs/' not in client.get(f"/runs/{rid}").text  # an ended run's page does not poll
    assert client.get(f"/runs/{rid}/live").status_code == 286
    queue = client.app.state.console.queue
    run = runs_dir / "alpha"
    job_id = queue.submit(operator="stylegan", args=[str(run), str(run)], run_folder=run, cwd=tmp_path)
    assert f'hx-get="/runs/{rid}/live"' in client.get(f"/runs/{rid}").text  # queued: waits for the first tick
    claimed = queue.claim_next("w")
    write_progress(run / "logs", unit="kimg", done=0.4, total=1.0, sec_per_unit=5.0, phase="training")
    live = client.get(f"/runs/{rid}/live")
    assert live.status_code == 200 and "0.4/1 kimg" in live.text
    assert 'id="run-checkpoints" hx-swap-oob="true"' in live.text and 'id="run-metrics" hx-swap-oob="true"' in live.text
    event = json.loads(live.headers["HX-Trigger"])["run-update"]
    assert event["frames"][-1] == "samples/fakes_000000040.png" and event["labels"][-1] == "kimg 0.4"
    assert event["live"] is True and event["stats"]
    queue.finish(job_id, lease=claimed.lease, status=JobStatus.DONE, error=None, exit_code=0)
    assert client.get(f"/runs/{rid}/live").status_code == 286


def test_a_run_without_a_job_is_live_while_its_progress_is_recent():
    from ganfactory.console.live import STALE_PROGRESS_S, is_live
    from ganfactory.jobs.progress import Progress

    training = Progress(unit="kimg", done=1, total=2, sec_per_unit=1.0, phase="training", updated=1000.0)
    assert is_live(None, training, now=1010.0)
    assert not is_live(None, training, now=1000.0 + STALE_PROGRESS_S + 1)  # killed without a word
    assert not is_live(None, Progress(unit="kimg", done=2, total=2, sec_per_unit=None, phase="done", updated=1000.0),
                       now=1010.0)
    assert not is_live(None, None)
    # a command-line run's page opened before its first progress.json: live while its config.json is recent
    assert is_live(None, None, now=1010.0, started=1000.0)
    assert not is_live(None, None, now=1000.0 + STALE_PROGRESS_S + 1, started=1000.0)


def test_each_step_of_an_operator_with_steps_has_its_own_form(client, runs_dir, tmp_path):
    """Item 15 (the server side): DatasetGAN's form starts on its first step; each step shows its own inputs and
    fields, and a posted step is queued as `datasetgan STEP ...`."""
    sample = client.get("/jobs/form?operator=datasetgan").text
    assert '<select name="step"' in sample and '<option value="sample" selected>' in sample
    assert 'name="run"' in sample and 'name="truncation"' in sample and 'name="predict"' not in sample
    assert 'name="members"' not in sample  # sampling reads no interpreter option (datasetgan.config.SampleOptions)
    evaluate = client.get("/jobs/form?operator=datasetgan&step=evaluate").text
    assert 'name="real_test"' in evaluate and 'name="members"' not in evaluate and 'name="run"' not in evaluate
    assert client.get("/jobs/form?operator=datasetgan&step=add-real").status_code == 404  # run directly, not queued
    assert '<select name="step"' not in client.get("/jobs/form?operator=stylegan").text
    form = browser_form(client.get("/jobs/form?operator=datasetgan&step=train").text)
    assert form["step"] == "train" and "run" not in form
    form.update(out=str(runs_dir / "labels"), epochs="2", members="3")
    job = _submit(client, form)
    assert list(job.args) == ["train", str(runs_dir / "labels"), "--members", "3", "--epochs", "2.0"]
    assert job.request["step"] == "train" and job.request["config"]["members"] == 3
    refused = client.post("/jobs", data={**form, "members": "0"}, headers=AUTH)
    assert refused.status_code == 422 and 'data-field="members"' in refused.text
    assert '<option value="train" selected>' in refused.text  # the form comes back on the same step

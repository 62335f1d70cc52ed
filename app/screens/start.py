"""Start a run: an operation of runyard.toml, a run module over instances, or a command.

Every field fits one line, so the whole form shows at 80x24. The form is checked as
the user types (start_checks.py, on a worker thread: the same checks as ``runyard
run``); an error shows under its field and the Start button is off while anything
is wrong. It can also save what it starts as an operation in runyard.toml (edited
with tomlkit, so the user's comments and layout stay). Started again from a run,
it comes filled in with what that run was started with (clone.py).
"""

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from runyard.engine.executors import EXECUTORS

from ..run_request import RunRequest
from ..safe_text import one_line
from ..start_checks import FIELDS, PLACES, FormCheck, check_form

HINTS = {
    "target": "operation name, module.py, or -- a command",
    "instances": "paths or globs, space separated (a run module's)",
    "workers": "instances at once (default 1)",
    "name": "run name (default: a new one)",
    "folder": "/a/b (default /)",
    "tags": "tag1 tag2",
    "metadata": "key=value key2=value2",
    "slurm": "partition=compute,time=04:00:00,requeue=2 (when on slurm)",
}
CHOICES = {"executor": EXECUTORS, "on": PLACES}  # the fields chosen from a list


@dataclass
class StartRequest:
    request: RunRequest
    save_as: str | None = None   # save as this operation


class FormChecked(Message):
    """A look at the form finished (on the check worker); ``seq`` says which look."""

    def __init__(self, seq: int, result: FormCheck):
        super().__init__()
        self.seq = seq
        self.result = result


class StartScreen(ModalScreen[StartRequest | None]):
    DEFAULT_CSS = """
    StartScreen { align: center middle; }
    StartScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 100%;
                             border: thick $accent; background: $surface; padding: 0 1; }
    StartScreen .row { height: 1; }
    StartScreen .field { width: 12; }
    StartScreen .row Input, StartScreen .row Select { width: 1fr; }
    StartScreen .field-error { color: $error; padding-left: 12; }
    StartScreen #start-note, StartScreen #start-kept { color: $text-muted; }
    StartScreen #start-status { color: $text-muted; margin-top: 1; }
    StartScreen #start-buttons { height: 1; margin-top: 1; }
    StartScreen #start-buttons Button { margin-right: 2; }
    StartScreen #save-row { margin-top: 1; }
    StartScreen #save-row Checkbox { width: 27; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="start-cancel"),
                Binding("ctrl+s", "submit", "Start", id="start-submit")]

    def __init__(self, operations: list[str], root=None, values: dict | None = None,
                 base: RunRequest | None = None, origin: str = "", kept: str = "",
                 slurm_defaults: str = ""):
        """``values``: the fields' texts to begin with; ``base``: a request for what
        the form has no field for; ``origin``: the run it starts again (shown);
        ``kept``: a line saying what comes from that run without a field;
        ``slurm_defaults``: runyard.toml's [slurm], filled in when Slurm is chosen."""
        super().__init__()
        self.slurm_defaults = slurm_defaults
        self.operations = operations
        self.root = root
        self.values = values or {}
        self.base = base
        self.origin = origin
        self.kept = kept
        self._seq = 0
        self._shown: set[str] = {k for k, v in self.values.items() if v}
        self._wanted = False  # Start was asked for: go once the check finds no error
        self._last: FormCheck | None = None

    def compose(self) -> ComposeResult:
        title = Text("Start a run", style="bold")
        if self.origin:
            title.append(" again, from run " + one_line(self.origin, limit=60))
        known = ", ".join(self.operations) if self.operations else "none in runyard.toml"
        title.append("  operations: " + one_line(known, limit=300))
        note = "" if self.root is None or self.root.exists() else \
            f"The runs root {one_line(self.root, limit=200)} does not exist yet: " \
            "Start creates it."
        with Vertical():
            yield Label(title, id="start-title")
            yield Label(note, id="start-note", markup=False)
            for key in FIELDS:
                with Horizontal(classes="row"):
                    yield Label(f"  {key}", id=f"{key}-label", classes="field")
                    if key in CHOICES:
                        yield Select([(e, e) for e in CHOICES[key]], allow_blank=False,
                                     value=self.values.get(key) or CHOICES[key][0],
                                     id=key, compact=True)
                    else:
                        yield Input(self.values.get(key, ""), placeholder=HINTS[key],
                                    id=key, compact=True)
                yield Label("", id=f"{key}-error", classes="field-error", markup=False)
            with Horizontal(classes="row", id="save-row"):
                yield Checkbox("save as operation? no", id="save", compact=True)
                yield Input(placeholder="operation name (runyard run NAME)", id="save-as",
                            compact=True)
            yield Label("", id="save-as-error", classes="field-error", markup=False)
            yield Label(self.kept, id="start-kept", markup=False)
            yield Label("", id="start-status", markup=False)
            with Horizontal(id="start-buttons"):
                yield Button("Start", variant="primary", id="go", compact=True,
                             disabled=True)
                yield Button("Cancel", id="stop", compact=True)

    def on_mount(self) -> None:
        for label in self.query(".field-error"):
            label.display = False
        self.query_one("#start-note").display = self.root is not None and \
            not self.root.exists()
        self.query_one("#start-kept").display = bool(self.kept)
        self.query_one("#target", Input).focus()
        self.check()

    def on_descendant_focus(self, _event) -> None:
        """The focused field's name is marked '>', which shows without colour too."""
        focused = self.focused.id if self.focused is not None else None
        for key in FIELDS:
            self.query_one(f"#{key}-label", Label).update(
                f"> {key}" if key == focused else f"  {key}")

    # -- checking ------------------------------------------------------------
    def form_values(self) -> dict:
        values = {key: self.query_one(f"#{key}", Input).value for key in FIELDS
                  if key not in CHOICES}
        for key in CHOICES:
            values[key] = str(self.query_one(f"#{key}", Select).value)
        values["save"] = self.query_one("#save", Checkbox).value
        values["save-as"] = self.query_one("#save-as", Input).value
        return values

    def check(self) -> None:
        self._seq += 1
        self._last = None
        self.query_one("#start-status", Label).update("checking...")
        self.run_check(self.form_values(), self._seq)

    @work(thread=True, exclusive=True, exit_on_error=False, group="start-check")
    def run_check(self, values: dict, seq: int) -> None:
        self.post_message(FormChecked(seq, check_form(values, self.root, self.base)))

    def on_form_checked(self, message: FormChecked) -> None:
        if message.seq != self._seq:
            return  # the form changed since: a newer look is on its way
        result = self._last = message.result
        if self._wanted:
            self._shown |= {*FIELDS, "save-as"}
        for key in (*FIELDS, "save-as"):
            label = self.query_one(f"#{key}-error", Label)
            error = result.errors.get(key) if key in self._shown else None
            label.update(one_line(error, limit=300) if error else "")
            label.display = bool(error)
        self.query_one("#go", Button).disabled = bool(result.errors)
        self.query_one("#start-status", Label).update(
            "to mend before it can start: " + ", ".join(
                k for k in (*FIELDS, "save-as") if k in result.errors) if result.errors
            else "ready: enter or ctrl+s starts it   esc: cancel   tab: next field")
        if self._wanted:
            self._wanted = False
            if result.request is not None:
                self.dismiss(StartRequest(result.request, result.save_as))
            else:
                first = next(k for k in (*FIELDS, "save-as") if k in result.errors)
                self.query_one(f"#{first}").focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._shown.add(event.input.id)
        self.check()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        # said in words too: the box's X is the same checked or not, but for colour
        event.checkbox.label = f"save as operation? {'yes' if event.value else 'no'}"
        self._shown.add("save-as")
        self.check()

    def on_select_changed(self, event: Select.Changed) -> None:
        if not self.is_mounted:
            return
        slurm = self.query_one("#slurm", Input)
        if event.select.id == "on" and event.value == "slurm" and not slurm.value:
            slurm.value = self.slurm_defaults  # runyard.toml's [slurm], to edit
        self.check()

    # -- actions ---------------------------------------------------------------
    def action_submit(self) -> None:
        """Start, once the form as it is now has been checked and found whole."""
        self._wanted = True
        if self._last is not None:  # the last look is of the form as it is
            self.on_form_checked(FormChecked(self._seq, self._last))

    def on_input_submitted(self, _event) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "go":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

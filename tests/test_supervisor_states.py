"""done()'s states in a module run's supervisor move only as DONE_MOVES allows."""

import pytest

from runyard.engine.module_supervisor import DONE_MOVES, Done, ModuleSupervisor


class Bare:
    """The one attribute move_done() reads, without a run behind it."""

    def __init__(self, state: Done):
        self.done_state = state


@pytest.mark.parametrize("start, to", [(a, b) for a in Done for b in Done])
def test_done_moves_only_as_allowed(start, to):
    supervisor = Bare(start)
    if to in DONE_MOVES[start]:
        ModuleSupervisor.move_done(supervisor, to)
        assert supervisor.done_state is to
    else:
        with pytest.raises(RuntimeError, match="done\\(\\) cannot go from"):
            ModuleSupervisor.move_done(supervisor, to)
        assert supervisor.done_state is start


def test_the_moves_lead_from_not_yet_to_an_end_and_back_after_a_kill():
    assert DONE_MOVES[Done.NOT_YET] == {Done.ASKED}
    assert DONE_MOVES[Done.ASKED] == {Done.OK, Done.FAILED, Done.NOT_YET}
    assert DONE_MOVES[Done.OK] == DONE_MOVES[Done.FAILED] == set()

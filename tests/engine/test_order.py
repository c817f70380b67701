"""A mirror's queue order: the same answers as a plain list, at O(log n) a step."""

from __future__ import annotations

import random

import pytest

from afetch_tui.engine.order import QueueOrder


def moved(ids: list[int], download_id: int, position: int) -> list[int]:
    """What `QueueOrder.move` must do, the slow way."""
    rest = [i for i in ids if i != download_id]
    rest.insert(max(0, min(position, len(rest))), download_id)
    return rest


@pytest.mark.parametrize("seed", range(5))
def test_matches_a_list_through_random_appends_removals_and_moves(seed: int) -> None:
    rng = random.Random(seed)
    order = QueueOrder(range(50))
    expected = list(range(50))
    next_id = 50
    for _ in range(2000):
        step = rng.random()
        if step < 0.25:
            order.append(next_id)
            expected.append(next_id)
            next_id += 1
        elif step < 0.45 and expected:
            gone = rng.choice(expected)
            order.remove(gone)
            expected.remove(gone)
        elif expected:
            download_id = rng.choice(expected)
            # the front and the back again and again leave no float between two ranks
            position = rng.choice([0, 1, len(expected) - 1, rng.randrange(len(expected))])
            after = moved(expected, download_id, position)
            assert order.move(download_id, position) is (after != expected)
            expected = after
        assert list(order) == expected
    assert [order.index(i) for i in expected] == list(range(len(expected)))
    assert [order[n] for n in range(len(expected))] == expected
    assert len(order) == len(expected) and all(i in order for i in expected)


def test_unknown_ids_change_nothing() -> None:
    order = QueueOrder([3, 1, 2])
    order.remove(9)
    assert order.move(9, 0) is False
    order.append(1)  # already held: stays where it is
    assert list(order) == [3, 1, 2]
    with pytest.raises(KeyError):
        order.index(9)


def test_moving_to_the_front_many_times_keeps_the_order_exact() -> None:
    """Each move to the second place halves the gap between the first two ranks; after
    ~50 no float is left between them and the order renumbers itself."""
    order = QueueOrder(range(10))
    expected = list(range(10))
    for n in range(200):
        download_id = expected[-1]
        order.move(download_id, 1)
        expected = moved(expected, download_id, 1)
        assert list(order) == expected, n


@pytest.mark.parametrize("seed", range(3))
def test_a_shuffled_order_then_random_steps_match_a_list(seed: int) -> None:
    """Ids out of their own order (a restored queue that was reordered) get ranks of
    their own; those in a longest increasing run keep their values as ranks."""
    rng = random.Random(seed)
    expected = rng.sample(range(300), 300)
    order = QueueOrder(expected)
    assert list(order) == expected
    for _ in range(500):
        download_id = rng.choice(expected)
        position = rng.randrange(len(expected))
        after = moved(expected, download_id, position)
        assert order.move(download_id, position) is (after != expected)
        expected = after
        if rng.random() < 0.1:
            order.append(download_id)  # held: stays
            order.remove(expected.pop(rng.randrange(len(expected))))
    assert list(order) == expected
    assert [order.index(i) for i in expected] == list(range(len(expected)))


def test_an_order_in_id_order_needs_no_ranks_of_its_own() -> None:
    order = QueueOrder(range(1000))
    order.append(1000)
    assert order._rank == {}
    assert list(order) == list(range(1001))

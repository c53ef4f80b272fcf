from xtremedistil_ner.events import emit, listen


def test_listeners_hear_events_in_order_until_they_stop():
    heard: list[str] = []
    stop_a = listen(lambda name: heard.append(f"a:{name}"))
    stop_b = listen(lambda name: heard.append(f"b:{name}"))
    emit("step:hidden:1")
    stop_a()
    emit("eval:student")
    stop_b()
    emit("label:shard:0")
    assert heard == ["a:step:hidden:1", "b:step:hidden:1", "b:eval:student"]

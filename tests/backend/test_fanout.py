"""The backend's broadcast path: `DirectFanOut` and Engine.IO's task-free socket poll.

Both replace library code on the hottest path of the live feed (bench/fanout.py measures
them), so they are held here to the library's behaviour: who receives an emit, in which
order, with which arguments, what an ack does, and how a socket's writer ends.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
import socketio
import uvicorn
from engineio import async_socket, exceptions
from socketio.async_pubsub_manager import AsyncPubSubManager

from sst_backend.realtime import eio_poll
from sst_backend.realtime.guard import ReplayGuard
from sst_backend.realtime.managers import DirectFanOut, GuardedManager, GuardedRedisManager


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A Socket.IO server with SST's fan-out, served by uvicorn in this event loop."""

    def __init__(self, manager: socketio.AsyncManager | None = None) -> None:
        assert eio_poll.install()
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager or DirectFanOut(),
            logger=False,
            engineio_logger=False,
        )
        self.sids: dict[str, str] = {}  # client name -> sid

        @self.sio.event
        async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any]) -> None:
            self.sids[auth["name"]] = sid
            if auth.get("room"):
                await self.sio.enter_room(sid, auth["room"])

        self.port = _free_port()
        config = uvicorn.Config(
            socketio.ASGIApp(self.sio), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.uvicorn = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.uvicorn.serve())
        while not self.uvicorn.started:  # noqa: ASYNC110 (uvicorn offers only the flag)
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.uvicorn.should_exit = True
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)


class Client:
    """A python-socketio client that records every event it is sent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: list[tuple[str, tuple[Any, ...]]] = []
        self.sio.on("*", self._any)

        @self.sio.on("ask")
        async def ask(question: str) -> str:
            return f"{self.name} heard {question}"

    async def _any(self, event: str, *args: Any) -> None:
        self.received.append((event, args))

    async def connect(self, port: int, room: str | None) -> Client:
        await self.sio.connect(
            f"http://127.0.0.1:{port}",
            auth={"name": self.name, "room": room},
            transports=["websocket"],
        )
        return self


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    await srv.start()
    yield srv
    await srv.stop()


async def _until(check: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.02)


async def test_a_broadcast_reaches_its_room_in_order_with_its_arguments(server: Server) -> None:
    ward = [await Client(f"carer-{n}").connect(server.port, "ward") for n in range(4)]
    outsider = await Client("outsider").connect(server.port, "elsewhere")
    try:
        skipped = server.sids["carer-3"]
        for n in range(20):
            await server.sio.emit("alert", {"n": n}, room="ward", skip_sid=skipped)
        await server.sio.emit("pair", ("a", 2), room="ward")  # a tuple is two arguments
        await server.sio.emit("empty", None, room="ward")  # None is no argument
        await server.sio.emit("direct", {"to": "carer-1"}, to=server.sids["carer-1"])
        await _until(lambda: all(len(c.received) >= 22 for c in ward[:3]))
        await _until(lambda: len(ward[3].received) >= 2)
        await asyncio.sleep(0.2)  # anything wrongly sent would have arrived by now
        for client in ward[:3]:
            alerts = [args for event, args in client.received if event == "alert"]
            assert alerts == [({"n": n},) for n in range(20)]
            assert ("pair", ("a", 2)) in client.received
            assert ("empty", ()) in client.received
        assert [e for e, _ in ward[3].received] == ["pair", "empty"]  # skipped for "alert"
        assert [a for e, a in ward[1].received if e == "direct"] == [({"to": "carer-1"},)]
        assert all(e != "direct" for c in (ward[0], ward[2]) for e, _ in c.received)
        assert outsider.received == []
        await server.sio.emit("alert", {"n": 99}, room="nobody-here")  # an empty room: nothing
    finally:
        for client in [*ward, outsider]:
            await client.sio.disconnect()


async def test_an_emit_with_an_ack_keeps_the_library_path(server: Server) -> None:
    client = await Client("carer").connect(server.port, "ward")
    try:
        answer = await server.sio.call("ask", "are you there", to=server.sids["carer"], timeout=5)
        assert answer == "carer heard are you there"
    finally:
        await client.sio.disconnect()


async def test_a_socket_gone_from_the_room_is_not_sent_to_and_others_still_are(
    server: Server,
) -> None:
    staying = await Client("staying").connect(server.port, "ward")
    leaving = await Client("leaving").connect(server.port, "ward")
    try:
        await leaving.sio.disconnect()
        await _until(lambda: "leaving" not in {n for n in server.sids if _in_ward(server, n)})
        await server.sio.emit("alert", {"n": 1}, room="ward")
        await _until(lambda: staying.received == [("alert", ({"n": 1},))])
        assert leaving.received == []
    finally:
        await staying.sio.disconnect()


async def test_the_in_process_manager_holds_back_what_a_replaying_socket_would_get_twice() -> None:
    guard = ReplayGuard()
    server = Server(GuardedManager(guard=guard))
    await server.start()
    replaying = await Client("replaying").connect(server.port, "ward")
    live = await Client("live").connect(server.port, "ward")
    try:
        guard.begin(server.sids["replaying"])
        await server.sio.emit("alert", {"event_id": 1}, room="ward")
        await _until(lambda: live.received == [("alert", ({"event_id": 1},))])
        # The replay flush delivers past the guard; an ack's emit keeps the library path.
        await server.sio.emit("state", {"n": 1}, to=server.sids["replaying"], ignore_queue=True)
        answer = await server.sio.call("ask", "still there", to=server.sids["replaying"])
        assert answer == "replaying heard still there"
        assert guard.end(server.sids["replaying"]) == [("alert", {"event_id": 1})]
        await server.sio.emit("alert", {"event_id": 1}, room="ward")  # a late live copy
        await server.sio.emit("alert", {"event_id": 2}, room="ward")
        await _until(lambda: len(live.received) == 3 and len(replaying.received) == 2)
        await asyncio.sleep(0.2)  # anything wrongly sent would have arrived by now
        assert replaying.received == [("state", ({"n": 1},)), ("alert", ({"event_id": 2},))]
        assert [args for _, args in live.received] == [
            ({"event_id": 1},),
            ({"event_id": 1},),
            ({"event_id": 2},),
        ]
    finally:
        for client in (replaying, live):
            await client.sio.disconnect()
        await server.stop()


def _in_ward(server: Server, name: str) -> bool:
    sid = server.sids[name]
    return any(s == sid for s, _ in server.sio.manager.get_participants("/", "ward"))


def test_the_backend_managers_use_the_direct_fan_out() -> None:
    # The Redis manager's emit still publishes; its local delivery reaches DirectFanOut.
    for manager in (GuardedManager, GuardedRedisManager):
        mro = manager.__mro__
        assert mro.index(DirectFanOut) < mro.index(socketio.AsyncManager)
    redis_mro = GuardedRedisManager.__mro__
    assert redis_mro.index(AsyncPubSubManager) < redis_mro.index(DirectFanOut)


# -- eio_poll ------------------------------------------------------------------------------


def _socket(ping_s: float = 5.0) -> Any:
    return SimpleNamespace(
        queue=asyncio.Queue(), server=SimpleNamespace(ping_interval=ping_s, ping_timeout=0)
    )


async def test_poll_waits_for_a_packet_then_takes_what_else_is_queued() -> None:
    sock = _socket()
    waiting = asyncio.create_task(eio_poll.poll(sock))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    for pkt in ("a", "b", "c"):
        sock.queue.put_nowait(pkt)
    assert await waiting == ["a", "b", "c"]
    assert sock.queue.empty()


async def test_poll_hands_over_what_came_before_a_close_and_keeps_the_close() -> None:
    sock = _socket()
    for pkt in ("a", "b", None):
        sock.queue.put_nowait(pkt)
    assert await eio_poll.poll(sock) == ["a", "b"]
    assert await eio_poll.poll(sock) == []  # then the close: the writer ends


async def test_poll_gives_up_after_ping_interval_and_timeout() -> None:
    sock = _socket(ping_s=0.1)
    started = asyncio.get_running_loop().time()
    with pytest.raises(exceptions.QueueEmpty):
        await eio_poll.poll(sock)
    assert 0.09 <= asyncio.get_running_loop().time() - started < 2.0


async def test_a_wait_is_bounded_from_its_own_start_not_an_earlier_one() -> None:
    """The timer is set once and moved on lazily: a wait that began after it was set runs
    its whole limit, and a packet that comes within it is handed over."""
    sock = _socket(ping_s=0.3)
    loop = asyncio.get_running_loop()
    first = asyncio.create_task(eio_poll.poll(sock))
    await asyncio.sleep(0.2)  # the timer is due 0.3 s after the first wait began
    sock.queue.put_nowait("a")
    assert await first == ["a"]
    second = asyncio.create_task(eio_poll.poll(sock))
    await asyncio.sleep(0.2)  # past the first wait's limit, within the second's
    assert not second.done()
    sock.queue.put_nowait("b")
    assert await second == ["b"]
    third = asyncio.create_task(eio_poll.poll(sock))
    began = loop.time()
    with pytest.raises(exceptions.QueueEmpty):
        await third
    assert 0.29 <= loop.time() - began < 2.0


async def test_packets_and_a_limit_reached_together_the_packets_win() -> None:
    sock = _socket(ping_s=0.1)
    waiting = asyncio.create_task(eio_poll.poll(sock))
    await asyncio.sleep(0)
    # The timer fires with the writer still waiting, but a packet is already queued.
    sock.queue.put_nowait("a")
    sock.queue.put_nowait(eio_poll._EXPIRED)
    assert await waiting == ["a"]
    assert sock.queue.empty()


async def test_a_cancelled_poll_ends_the_writer_as_the_library_does() -> None:
    sock = _socket()
    waiting = asyncio.create_task(eio_poll.poll(sock))
    await asyncio.sleep(0.02)
    waiting.cancel()
    with pytest.raises(exceptions.QueueEmpty):
        await waiting


def test_install_uses_the_poll_on_this_engineio() -> None:
    assert eio_poll.install()
    assert async_socket.AsyncSocket.poll is eio_poll.poll

"""The reference safety-check robot: the executable example of the robot side of the contract.

A robot owns `sst/v1/robots/{serial}/`: it subscribes to `commands` (QoS 1) and answers:

* `acks`: `{"v":1,"id":ID,"ts":MS}` for every command message it receives, duplicates
  included (the gateway may resend one it has not seen acknowledged); a command id it has
  seen before is acknowledged again and never run twice;
* `progress`: `running` when it starts, then `succeeded` or `failed` with a detail a carer
  can read ("path to the Bathroom is blocked at the Hall"), sent both as words and as a key
  of SST's catalog with raw params (`text`, keys "robot.progress.*"), so that staff read it
  in their language; a command received after its
  `expires_at` fails at once, and one still running at `expires_at` stops and fails;
* `status` (retained): online, state, position (a room's name), battery, at every change
  and every `status_every_s`; the last will says `{"v":1,"online":false}`.

`stop` is obeyed at any time: the running command stops where it is and fails ("stopped by
staff"), queued ones fail without starting, and the stop itself succeeds. The home is a
corridor of rooms (`rooms`, the dock first); moving one room takes `seconds_per_room` and
costs battery, a room in `blocked` cannot be passed, and a trip the battery cannot make
(keeping `min_battery` in reserve) is refused. Usage::

    robot = RobotAgent("robot-7", host="broker.example", username="robot-7", password="...")
    robot.connect()
    ...
    robot.disconnect()
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from pydantic import ValidationError

from sst_core.const import ROBOT_ACKS, ROBOT_COMMANDS, ROBOT_PROGRESS, ROBOT_STATUS, robot_topic
from sst_core.domain import RobotCommandName
from sst_core.robot_details import invalid_command
from sst_core.robot_messages import (
    COMMAND_ADAPTER,
    CheckOnResident,
    MoveTo,
    ProgressState,
    ProgressText,
    RobotAckIn,
    RobotCommandOut,
    RobotProgressIn,
    RobotState,
    RobotStatusIn,
    Speak,
    Stop,
)
from sst_core.texts import Text, TextParam, english, phrase
from sst_core.texts_en import ROOM_KIND_NAMES

log = logging.getLogger("sst.devices.robot")

DOCK = "Dock"
DEFAULT_ROOMS = (DOCK, "Entrance", "Living room", "Kitchen", "Bedroom", "Bathroom")
QOS = 1


_KIND_OF_NAME = {name: kind for kind, name in ROOM_KIND_NAMES.items()}


class _Failed(Exception):
    """A command could not be done; `text` is the progress detail."""

    def __init__(self, text: Text) -> None:
        super().__init__(english(text))
        self.text = text


def _room(name: str, param: str = "room") -> dict[str, str]:
    """A room param with its kind when the room has its kind's standard name (for Korean)."""
    kind = _KIND_OF_NAME.get(name)
    return {param: name, f"{param}_kind": kind} if kind else {param: name}


def _progress_words(key: str, **params: TextParam) -> Text:
    """A progress detail of SST's catalog ("robot.progress.<key>")."""
    return phrase(f"robot.progress.{key}", **params)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class RobotAgent:
    """One robot's MQTT session and its (simulated) body."""

    def __init__(
        self,
        serial: str,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        client_id: str | None = None,
        rooms: Sequence[str] = DEFAULT_ROOMS,
        seconds_per_room: float = 2.0,
        battery: float = 90.0,
        drain_per_room: float = 1.5,
        min_battery: float = 15.0,
        status_every_s: float = 30.0,
        keepalive: int = 30,
    ) -> None:
        self.serial = serial
        self.host, self.port, self.keepalive = host, port, keepalive
        self.rooms = list(rooms)
        self.seconds_per_room = seconds_per_room
        self.drain_per_room, self.min_battery = drain_per_room, min_battery
        self.status_every_s = status_every_s
        self.blocked: set[str] = set()  # rooms the robot cannot pass (a closed door, a chair)
        self.position = self.rooms[0]
        self.battery = battery
        self.state = RobotState.DOCKED if self.position == DOCK else RobotState.IDLE
        self.seen: set[int] = set()  # every command id received (acks repeat, runs do not)
        self.outcomes: dict[int, tuple[ProgressState, str]] = {}
        self._topics = {k: robot_topic(serial, k) for k in (ROBOT_ACKS, ROBOT_PROGRESS)}
        self._status_topic = robot_topic(serial, ROBOT_STATUS)
        self._commands_topic = robot_topic(serial, ROBOT_COMMANDS)
        self._work: queue.Queue[RobotCommandOut | None] = queue.Queue()
        self._lock = threading.Lock()
        self._current: tuple[int, threading.Event] | None = None
        self._dropped: set[int] = set()  # queued commands a stop cancelled
        self._connected = threading.Event()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or serial, clean_session=True
        )
        if username:
            client.username_pw_set(username, password)
        if tls:
            client.tls_set()
        client.will_set(self._status_topic, orjson.dumps({"v": 1, "online": False}), QOS, True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *_: self._connected.clear()
        client.on_message = self._on_message
        self._client = client

    # -- session --------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> None:
        """Connect, subscribe to commands, say online; start working."""
        self._closing.clear()
        self._client.connect(self.host, self.port, keepalive=self.keepalive)
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            raise ConnectionError(f"robot {self.serial}: no CONNACK/SUBACK within {timeout}s")
        self._threads = [
            threading.Thread(target=self._worker, name=f"robot-{self.serial}", daemon=True),
            threading.Thread(target=self._report, name=f"status-{self.serial}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def disconnect(self) -> None:
        """Stop working, say offline (retained) and leave."""
        self._closing.set()
        self._cancel_current()
        self._work.put(None)
        for thread in self._threads:
            thread.join(5)
        self._publish(self._status_topic, RobotStatusIn(online=False, ts=_now_ms()), retain=True)
        time.sleep(0.1)  # let paho send it; QoS 1 to a broker on the same network
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        reason = args[2]
        if reason.is_failure:
            log.error("robot %s: broker refused: %s", self.serial, reason)
            return
        client.subscribe(self._commands_topic, qos=QOS)
        self.publish_status()
        self._connected.set()

    # -- commands in ----------------------------------------------------------------

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            command = COMMAND_ADAPTER.validate_json(message.payload)
        except ValidationError as exc:
            command_id = _id_of(bytes(message.payload))
            if command_id is not None:  # SST learns that this command cannot be done
                self._ack(command_id)
                self._progress(command_id, ProgressState.FAILED, invalid_command(str(exc)))
            log.warning("robot %s: refused a command: %s", self.serial, exc)
            return
        self._ack(command.id)
        with self._lock:
            if command.id in self.seen:
                return  # a resend: acknowledged again, never run twice
            self.seen.add(command.id)
        if isinstance(command, Stop):
            self._stop(command)
        else:
            self._work.put(command)

    def _stop(self, command: Stop) -> None:
        """Obey a stop at once (paho's thread): cancel the running command and the queue."""
        target = command.args.command_id
        stopped = []
        with self._lock:
            if self._current and (target is None or self._current[0] == target):
                stopped.append(self._current[0])
                self._current[1].set()
            with self._work.mutex:  # the worker skips what is dropped when it gets there
                waiting = [c.id for c in self._work.queue if c is not None]
            for command_id in waiting:
                if target is None or command_id == target:
                    self._dropped.add(command_id)
                    stopped.append(command_id)
        self._progress(command.id, ProgressState.RUNNING, None)
        detail = (
            _progress_words("stopped_commands", commands=", ".join(map(str, stopped)))
            if stopped
            else _progress_words("nothing_to_stop")
        )
        self._progress(command.id, ProgressState.SUCCEEDED, detail)

    def _cancel_current(self) -> None:
        with self._lock:
            if self._current:
                self._current[1].set()

    # -- the body ---------------------------------------------------------------------

    def _worker(self) -> None:
        while (command := self._work.get()) is not None:
            if command.id in self._dropped:
                self._progress(
                    command.id, ProgressState.FAILED, _progress_words("stopped_before_start")
                )
                continue
            if _now_ms() >= command.expires_at:
                self._progress(
                    command.id, ProgressState.FAILED, _progress_words("expired_before_start")
                )
                continue
            cancel = threading.Event()
            with self._lock:
                self._current = (command.id, cancel)
            starting = (
                _progress_words("starting_at_dock")
                if self.position == DOCK
                else _progress_words("starting_in", **_room(self.position))
            )
            self._progress(command.id, ProgressState.RUNNING, starting)
            try:
                detail = self._run(command, cancel)
            except _Failed as failure:
                self._set(RobotState.IDLE if self.position != DOCK else RobotState.DOCKED)
                self._progress(command.id, ProgressState.FAILED, failure.text)
            else:
                self._progress(command.id, ProgressState.SUCCEEDED, detail)
            finally:
                with self._lock:
                    self._current = None

    def _run(self, command: RobotCommandOut, cancel: threading.Event) -> Text:
        deadline = command.expires_at
        if isinstance(command, MoveTo):
            self._go(command.args.room, cancel, deadline)
            self._set(RobotState.IDLE)
            return _progress_words("arrived_in", **_room(self.position))
        if isinstance(command, CheckOnResident):
            self._go(command.args.room or "Living room", cancel, deadline)
            self._set(RobotState.BUSY)
            self._pause(self.seconds_per_room, cancel, deadline)
            self._set(RobotState.IDLE)
            return _progress_words("camera_ready", **_room(self.position))
        if isinstance(command, Speak):
            self._set(RobotState.BUSY)
            self._pause(
                self.seconds_per_room * max(1, len(command.args.text) / 40), cancel, deadline
            )
            self._set(RobotState.IDLE)
            return _progress_words("said_message", **_room(self.position))
        assert command.command == RobotCommandName.RETURN_TO_DOCK
        self._go(DOCK, cancel, deadline)
        self._set(RobotState.DOCKED)
        return _progress_words("docked")

    def _go(self, room: str, cancel: threading.Event, deadline: int) -> None:
        if room not in self.rooms:
            raise _Failed(_progress_words("no_such_room", room=room))
        here, there = self.rooms.index(self.position), self.rooms.index(room)
        step = 1 if there > here else -1
        path = self.rooms[here + step : there + step : step] if here != there else []
        needed = len(path) * self.drain_per_room
        if room != DOCK and self.battery - needed < self.min_battery:
            raise _Failed(
                _progress_words("battery_low", battery=round(self.battery), **_room(room))
            )
        for next_room in path:
            if next_room in self.blocked:
                raise _Failed(_progress_words("blocked", **_room(room), **_room(next_room, "at")))
            self._set(RobotState.MOVING)
            self._pause(self.seconds_per_room, cancel, deadline)
            self.position = next_room
            self.battery = max(0.0, self.battery - self.drain_per_room)
            self.publish_status()

    def _pause(self, seconds: float, cancel: threading.Event, deadline: int) -> None:
        left_ms = deadline - _now_ms()
        if cancel.wait(min(seconds, max(0.0, left_ms / 1000))):
            raise _Failed(_progress_words("stopped_by_staff", **_room(self.position)))
        if _now_ms() >= deadline:
            raise _Failed(_progress_words("ran_out_of_time", **_room(self.position)))

    def _set(self, state: RobotState) -> None:
        if state != self.state:
            self.state = state
            self.publish_status()

    # -- messages out -----------------------------------------------------------------

    def publish_status(self) -> None:
        """Publish the retained status now."""
        status = RobotStatusIn(
            online=True,
            state=self.state,
            position=self.position,
            battery=round(self.battery, 1),
            ts=_now_ms(),
        )
        self._publish(self._status_topic, status, retain=True)

    def _report(self) -> None:
        while not self._closing.wait(self.status_every_s):
            if self._connected.is_set():
                self.publish_status()

    def _ack(self, command_id: int) -> None:
        self._publish(self._topics[ROBOT_ACKS], RobotAckIn(id=command_id, ts=_now_ms()))

    def _progress(self, command_id: int, state: ProgressState, text: Text | None) -> None:
        detail = english(text)[:500] if text is not None else None
        if state != ProgressState.RUNNING:
            self.outcomes[command_id] = (state, detail or "")
        body = RobotProgressIn(
            id=command_id,
            state=state,
            detail=detail,
            text=ProgressText.model_validate(text.model_dump()) if text is not None else None,
            ts=_now_ms(),
        )
        self._publish(self._topics[ROBOT_PROGRESS], body)

    def _publish(self, topic: str, body: Any, *, retain: bool = False) -> None:
        payload = body.model_dump_json(exclude_none=True).encode()
        self._client.publish(topic, payload, qos=QOS, retain=retain)


def _id_of(payload: bytes) -> int | None:
    """The command id of a payload that is not a valid command, if it has one."""
    try:
        value = orjson.loads(payload).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, int) and value >= 1 else None

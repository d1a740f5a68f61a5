"""The widget's socket.io rooms shared through Redis (python-socketio's Redis manager,
clinic_assistant/channels/socketio.py): what a replica reads from Redis is JSON,
never unpickled, so whoever can write to Redis cannot run code in the bot."""
from __future__ import annotations

import asyncio
import json
import pickle
from pathlib import Path
from typing import Iterator

import pytest
import redis
import socketio

from clinic_assistant.channels.socketio import share_rooms_through_redis
from tests.harness.cluster import RedisServer, missing_servers

CHANNEL = "clinic-widget"


class CreatesFile:
    """Unpickling this creates a file: the proof that pickled data was loaded."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (open, (str(self.path), "w"))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if missing_servers():
        pytest.fail(f"not installed: {missing_servers()} (run scripts/ensure-scale-servers)")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def listening_server(url: str) -> socketio.AsyncServer:
    sio = socketio.AsyncServer(async_mode="asgi")
    assert share_rooms_through_redis(sio, url)
    sio.manager.initialize()
    await asyncio.sleep(0.5)  # the manager subscribes in the background
    return sio


def test_a_pickled_message_in_redis_is_not_loaded(redis_server: RedisServer, tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"

    async def scenario() -> None:
        await listening_server(redis_server.url)
        publisher = redis.Redis.from_url(redis_server.url)
        payload = pickle.dumps({"method": "emit", "event": "x", "data": CreatesFile(marker)})
        assert publisher.publish(CHANNEL, payload) >= 1  # the replica is subscribed
        await asyncio.sleep(1.0)

    asyncio.run(scenario())
    assert not marker.exists()


def test_rooms_are_shared_as_json(redis_server: RedisServer) -> None:
    async def scenario() -> bytes:
        subscriber = redis.Redis.from_url(redis_server.url).pubsub()
        subscriber.subscribe(CHANNEL)
        subscriber.get_message(timeout=1)  # the subscription's confirmation
        sio = await listening_server(redis_server.url)
        await sio.emit("bot_uttered", {"text": "Hi"}, room="web:" + "0" * 32)
        for _ in range(50):
            message = subscriber.get_message(timeout=0.1)
            if message and message["type"] == "message":
                return message["data"]
            await asyncio.sleep(0.05)
        raise AssertionError("nothing was published")

    packet = json.loads(asyncio.run(scenario()))
    assert packet["event"] == "bot_uttered" and packet["data"] == [{"text": "Hi"}]


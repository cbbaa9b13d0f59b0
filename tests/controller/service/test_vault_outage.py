"""A vault that cannot be written (a full disk) when a release calls for shredding: nothing fails, nothing is kept."""

from __future__ import annotations

import asyncio

from tests.controller.service.test_bank import World


def test_a_template_the_vault_refused_to_shred_is_shredded_at_the_next_decision() -> None:
    world = World()

    async def scenario() -> None:
        cid = await world.deposit()
        await world.bank.on_face(world.face(cid, "alice", accepted=False, considered=1), 0.0)
        await world.bank.on_face(world.face(cid, "alice", accepted=True), 0.3)
        await world.door(cid, True)
        world.vault.refusing = "database or disk is full"
        await world.door(cid, False)  # the retrieval is committed; shredding its template fails, and is kept
        assert world.state(cid) == "free" and world.vault.destroyed == []
        world.vault.refusing = ""
        await world.door("2", True)  # any later decision shreds what is owed first
        assert world.vault.destroyed == ["tpl-alice"]

    asyncio.run(scenario())

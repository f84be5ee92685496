"""How a run treats time, as one object instead of a `live` flag threaded through the stages: a file's
policy (every frame goes through, decode waits for the model, media-time ranges, completeness and damage
checked at the end) or a live source's (the newest frames are kept and the oldest dropped and counted, a stop
does not wait for a blocked read, damage is counted, a second Ctrl-C keeps what is written). What is settled
before the source opens (--duration as wall time, reconnects) stays with run_file and vdeblur.live."""
from __future__ import annotations

from dataclasses import dataclass

LIVE_GRACE_S = 0.2   # how long a stopped live run waits for a read to return before finishing without it


@dataclass(frozen=True)
class Policy:
    live: bool
    decode_queue: int                   # frames waiting for the model step
    encode_queue: int                   # deblurred frames waiting for the encoder (memory.plan_memory's)
    drop_oldest: bool                   # behind: drop the oldest waiting frame (and count it), never wait
    abandon_read_after_s: float | None  # after a stop, finish without a read still blocked this long
    check_complete: bool                # frames decoded against what the container announces
    damage_fails: bool                  # decode errors end the run with exit 3 (a stream's are only counted)
    salvage_on_second_stop: bool        # a second Ctrl-C keeps what the container holds (fragmented MP4)
    codec_idle: bool                    # decode and encode threads at idle priority (pipeline.codec_idle)

    @classmethod
    def of(cls, cfg, live: bool, queue_size: int, codec_idle: bool) -> "Policy":
        """The policy of a run of cfg: live or a file's."""
        if live:
            return cls(True, cfg.live_queue, queue_size, True, LIVE_GRACE_S, False, False, True, codec_idle)
        return cls(False, queue_size, queue_size, False, None, True, True, False, codec_idle)

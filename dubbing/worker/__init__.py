"""The dubbing worker's machinery, apart from the actors that start it (dubbing/tasks.py):

- `run`: one delivery of a job's run: claim, pipeline, publish, and the run's end on failure;
- `monitor`: the heartbeat and cancel monitor of the claim;
- `recorder`: the step recorder (steps, lines, progress);
- `publisher`: the artifact publisher (outputs to the storage);
- `analysis`: the lock around the shared source analysis;
- `budget`: the CPU threads the jobs of one process share;
- `reaper`: the reaper's loop.

It writes only through `dubbing.services`.
"""

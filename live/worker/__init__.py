"""The live worker (docs/live.md#the-live-worker): gather live requests into batches (``batching``),
paint each batch in one call (``run``), store its pictures beside the next call (``stage``,
``store``, in a pool of processes that ``boot`` starts).

LiveConfig.ready() registers ``run.RUNNER`` with generation (generation.worker_api), whose
``execute_job`` hands it every claimed live job that may share its call. Nothing is imported here:
a pool process unpickles ``boot.start`` before Django is set up.
"""

"""Getting a job to a worker: the message sent (``enqueue``), the job a worker claims when a
message reaches it (``pull``), and the workers' presence it reads (``presence``, one reader) and
each worker writes (``beacon``)."""

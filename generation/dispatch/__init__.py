"""Getting a job's message to a worker: the message sent (``enqueue``), where it goes (``routing``),
routes looked at again (``rerouting``), and the workers' presence it all reads (``presence``, one
reader) and each worker writes (``beacon``)."""

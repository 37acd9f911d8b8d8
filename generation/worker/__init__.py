"""The worker: a job claimed, painted (alone or gathered with the jobs that share its call), its
pictures finished and stored, every state change written and announced; the sweeper that resumes
jobs whose worker died; the Celery hooks that start a worker. See docs/generation.md."""

from django.db import models

from garden.visitors import MAX_LENGTH as VISITOR_ID_LENGTH
from generation.models import GenerationJob


class LiveRequest(models.Model):
    """A visitor's live picture (docs/live.md): who asked, for which search key, from which liked
    picture, and the generation job that paints it (a ``live`` ``images`` job on the live queue).

    The visitor id is kept while the job is in flight (one live picture per visitor); retention
    clears it once the job has finished, and a deletion request deletes the visitor's rows
    (live.services.forget_live_requests, registered with garden.forgetting).
    """

    job = models.OneToOneField(GenerationJob, primary_key=True, on_delete=models.CASCADE, related_name="live_request")
    # Who asked ("" once the job has finished and retention ran: the link is needed only in flight).
    visitor_id = models.CharField(max_length=VISITOR_ID_LENGTH, blank=True, db_index=True)
    search_key = models.CharField(max_length=120)  # emotion[/favorite], as painted
    from_key = models.CharField(max_length=512, blank=True)  # the liked garden picture it starts from, if any

    def __str__(self) -> str:
        return f"live picture {self.job_id} ({self.search_key})"

"""Inbound text messages from the SMS provider (being written: see issue 5)."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def inbound(request):
    return HttpResponse(status=404)

"""Sign-in and sign-out (``/web/login``, ``/web/logout``): the form takes the API token once."""

from __future__ import annotations

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.web.pages._shared import PREFIX, MaybeUser, page_router, render
from api.web.session import SESSION_ENDED, clear_cookie, session_ended, set_cookie, sign_in, sign_out

router = page_router()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, user: MaybeUser, next: str = "") -> HTMLResponse:
    """The sign-in form; 401 with the reason when the browser's session has just ended."""
    if session_ended(request):  # the page that sent the browser here was refused: say why, drop the cookie
        resp = render(request, "login.html", None, status_code=401, next=next, error=SESSION_ENDED)
        clear_cookie(resp, request)
        return resp
    return render(request, "login.html", user, next=next, error=None)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, token: str = Form(""), next: str = Form("")) -> Response:
    """Open a session for the token's user and go where the browser was sent from (401 with the reason)."""
    outcome = sign_in(request, token)
    if outcome.user is None:
        return render(request, "login.html", None, status_code=401, next=next, error=outcome.error)
    target = next if next.startswith(PREFIX + "/") else PREFIX + "/"
    resp = RedirectResponse(target, status_code=303)
    set_cookie(resp, request, outcome)
    return resp


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session and drop the cookie."""
    sign_out(request)
    resp = RedirectResponse(PREFIX + "/login", status_code=303)
    clear_cookie(resp, request)
    return resp

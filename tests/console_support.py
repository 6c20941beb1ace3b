"""Driving the web console through Flask's test client: sign in, read pages, post forms with their CSRF token."""
from __future__ import annotations

import re

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    def __init__(self, client):
        self.client = client
        self.token = ""

    def login(self, username: str, password: str, *, kind: str = "user", tfa_code: str = ""):
        form = self.client.get("/console/login")
        token = CSRF.search(form.get_data(as_text=True)).group(1)
        answer = self.client.post("/console/login", data={
            "csrf_token": token, "username": username, "password": password, "account_kind": kind,
            "tfa_code": tfa_code})
        if answer.status_code == 303:
            self.get("/console/", follow_redirects=True)
        return answer

    def get(self, path: str, **kwargs):
        answer = self.client.get(path, **kwargs)
        found = CSRF.search(answer.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return answer

    def post(self, path: str, data: dict | None = None, *, token: str | None = None, **kwargs):
        return self.client.post(path, data={"csrf_token": self.token if token is None else token, **(data or {})},
                                **kwargs)

    def text(self, path: str) -> str:
        answer = self.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer.get_data(as_text=True)

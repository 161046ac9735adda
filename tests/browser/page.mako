<!doctype html>
<html><head>${request.traceparent_meta}<title>mako</title></head><body></body></html>

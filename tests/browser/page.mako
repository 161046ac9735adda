<!doctype html>
<html><head>${traceparent_meta}<title>mako</title></head><body></body></html>

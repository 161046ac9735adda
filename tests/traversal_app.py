"""A traversal application (``Item`` contexts with an ``edit`` view), with
a hybrid route, templates of the three template languages, pyramid_tm and
subrequests: what tests of span names and internal spans serve."""
import transaction
import webtest
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from pyramid_opentracing import trace

BRIDGE = 'pyramid_opentracing.otel.tracer_from_settings'


class Root:
    """The root of the resource tree: ``item1``, ``item2``... are items."""
    __name__ = ''
    __parent__ = None

    def __getitem__(self, name):
        if name.startswith('item'):
            return Item(name, self)
        raise KeyError(name)


class Item:
    def __init__(self, name, parent):
        self.__name__, self.__parent__ = name, parent

    def __getitem__(self, name):
        raise KeyError(name)


def root_factory(request):
    return Root()


def edit_item(context, request):
    return Response('edit ' + context.__name__)


def show_item(context, request):
    return Response('show ' + context.__name__)


def failing_item(context, request):
    raise ZeroDivisionError('the view failed')


def templated_item(context, request):
    return {'title': context.__name__}


def committing_item(context, request):
    request.tm.get().note('committed by the view')
    return Response('committed')


class FailingCommit:
    """A data manager whose commit fails: the transaction's commit fails."""
    transaction_manager = transaction.manager

    def abort(self, txn):
        pass

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        raise IOError('the database went away')

    tpc_vote = tpc_finish = tpc_abort = abort

    def sortKey(self):  # noqa: N802 - the data manager API
        return 'failing'


def failing_commit_item(context, request):
    request.tm.get().join(FailingCommit())
    return Response('never committed')


def aborting_item(context, request):
    request.tm.doom()
    return Response('aborted')


def subrequest_item(context, request):
    """Edits the item through a subrequest, with the tweens if ?tweens."""
    response = request.invoke_subrequest(Request.blank('/item9/edit'),
                                         use_tweens='tweens' in request.params)
    return Response('through a subrequest: ' + response.text)


@trace()
def traced_item(context, request):
    return Response('traced')


class ItemViews:
    def __init__(self, context, request):
        self.context, self.request = context, request

    def rename(self):
        return Response('renamed')


def make_app(settings, tm=False):
    config = Configurator(settings=dict({'ot.trace_all': True}, **settings),
                          root_factory=root_factory)
    config.include('pyramid_jinja2')
    config.include('pyramid_chameleon')
    config.include('pyramid_mako')
    if tm:
        config.include('pyramid_tm')
    config.add_view(show_item, context=Item)
    config.add_view(edit_item, context=Item, name='edit')
    config.add_view(failing_item, context=Item, name='fail')
    config.add_view(ItemViews, attr='rename', context=Item, name='rename')
    for extension in ('jinja2', 'pt', 'mako'):
        config.add_view(templated_item, context=Item, name=extension,
                        renderer='tests:templates/item.' + extension)
    config.add_view(templated_item, context=Item, name='broken',
                    renderer='tests:templates/broken.jinja2')
    config.add_view(templated_item, context=Item, name='json', renderer='json')
    config.add_view(committing_item, context=Item, name='commit')
    config.add_view(aborting_item, context=Item, name='abort')
    config.add_view(failing_commit_item, context=Item, name='commit-fails')
    config.add_view(subrequest_item, context=Item, name='sub')
    config.add_view(traced_item, context=Item, name='traced')
    config.add_route('shop', '/shop/*traverse', factory=root_factory)
    config.add_view(edit_item, route_name='shop', context=Item, name='edit')
    config.include('pyramid_opentracing')
    return webtest.TestApp(config.make_wsgi_app())


def bridged_settings(**settings):
    return dict({'ot.base_tracer_func': BRIDGE, 'ot.otel.exporter': 'memory'}, **settings)


def tracer_of(app):
    """The OpenTracing tracer the application traces with."""
    return app.app.registry.settings['ot.tracer'].tracer


def finished(app):
    """[(name, attributes or tags)] of the finished spans, in the order they finished."""
    tracer = tracer_of(app)
    exporter = getattr(tracer, 'exporter', None)
    if exporter is not None:
        return [(span.name, dict(span.attributes)) for span in exporter.get_finished_spans()]
    return [(span.operation_name, dict(span.tags)) for span in tracer.finished_spans()]



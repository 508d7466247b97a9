#pragma once

namespace billow::modules::sdk {

class module;
class product;
class plugin;
class payment;
class notification;
class module_context;
class log_sink;
class task_queue;
class secret_box;
class view_renderer;
class http_client;

struct module_manifest;
struct service_context;
struct client_call;
struct admin_call;

} // namespace billow::modules::sdk

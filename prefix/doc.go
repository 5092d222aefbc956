// Package prefix routes requests as Apache's WSGIScriptAlias, <Location>,
// <LocationMatch> and <VirtualHost> do: mounts that set SCRIPT_NAME and
// PATH_INFO, rules scoped to paths, one mount serving many environments from
// a parent directory, and virtual hosts.
package prefix

{#-
    The table's and its columns' comments in one statement batch after one DESCRIBE.
    dbt-duckdb's own version runs the relation comment, then DESCRIBE twice (once to
    validate the documented columns, once more inside `alter_column_comment`) and the
    column comments: four round trips through dbt's connection for every mart and seed of
    every build, where two give the same comments. The comments are what BI tools and the
    serving copy show, so they are still written on every build.
-#}
{% macro duckdb__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- set statements = [] -%}
    {%- if for_relation and config.persist_relation_docs() and model.description -%}
        {%- do statements.append(alter_relation_comment(relation, model.description) | trim) -%}
    {%- endif -%}
    {%- if for_columns and config.persist_column_docs() and model.columns -%}
        {%- set existing = adapter.get_columns_in_relation(relation) | map(attribute="name") | list -%}
        {%- set documented = validate_doc_columns(relation, model.columns, existing) -%}
        {%- for name, column in documented.items() -%}
            {%- set target = adapter.quote(name) if column['quote'] else name -%}
            {%- do statements.append(
                "comment on column " ~ relation ~ "." ~ target ~ " is "
                ~ duckdb_escape_comment(column['description']) ~ ";"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if statements -%}
        {%- do run_query(statements | join("\n")) -%}
    {%- endif -%}
{%- endmacro %}

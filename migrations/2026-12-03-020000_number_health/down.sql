DROP TABLE whatsapp_template_signals;
DROP TABLE whatsapp_number_health;
